//! Allocation: every invoice dollar to an owner, with the method that did it.
