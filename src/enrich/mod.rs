//! Enrichment: the tag taxonomy, Bedrock usage types and the price book.

pub mod bedrock;
pub mod prices;
pub mod taxonomy;
pub mod usage;
