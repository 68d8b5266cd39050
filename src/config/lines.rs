//! Where a value sits in configuration text.
//!
//! A value is named by the [`Step`]s that lead to it from the top of the file (`at!` builds
//! them); [`line_at`] finds its 1-based line from the spans of the TOML document, and
//! errors about it are put inside a `line N` context. Syntax and type errors that serde
//! reports get their line and a hint for their kind here too.

/// One step of the way to a value of the file: a table key or a position in an array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Item(usize),
}

impl From<&str> for Step {
    fn from(key: &str) -> Step {
        Step::Key(key.to_string())
    }
}

impl From<&String> for Step {
    fn from(key: &String) -> Step {
        Step::Key(key.clone())
    }
}

impl From<usize> for Step {
    fn from(index: usize) -> Step {
        Step::Item(index)
    }
}

/// The way to a value of the file: `at!["budgets", 2, "scope", key]`.
macro_rules! at {
    ($($step:expr),* $(,)?) => {
        [$($crate::config::Step::from($step)),*]
    };
}
pub(super) use at;

/// `error` inside a `line N` context, when the line is known.
pub(super) fn with_line(error: anyhow::Error, line: Option<usize>) -> anyhow::Error {
    match line {
        Some(line) => error.context(format!("line {line}")),
        None => error,
    }
}

/// The 1-based line of the value at `at` in configuration text. A step that the text does not
/// hold (a value left at its default) gives the line of the deepest step that it does.
pub fn line_at(text: &str, at: &[Step]) -> Option<usize> {
    use toml::de::{DeTable, DeValue};

    /// The start of the key or array item of one step, and the value there.
    fn step_into<'t, 'i>(node: &'t DeValue<'i>, step: &Step) -> Option<(usize, &'t DeValue<'i>)> {
        match (node, step) {
            (DeValue::Table(table), Step::Key(key)) => table
                .iter()
                .find(|(name, _)| name.get_ref() == key)
                .map(|(name, value)| (name.span().start, value.get_ref())),
            (DeValue::Array(items), Step::Item(index)) => {
                items.get(*index).map(|item| (item.span().start, item.get_ref()))
            }
            _ => None,
        }
    }

    let root = DeValue::Table(DeTable::parse(text).ok()?.into_inner());
    let mut node = &root;
    let mut offset = None;
    for step in at {
        let Some((start, next)) = step_into(node, step) else { break };
        offset = Some(start);
        node = next;
    }
    offset.map(|offset| line_number(text, offset))
}

/// The 1-based line of a byte offset of `text`.
fn line_number(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}

/// A TOML syntax or type error, inside the `line N` it is on, with a hint for its kind.
pub(super) fn syntax_error(text: &str, error: &toml::de::Error) -> anyhow::Error {
    let message = error.message().trim_end();
    let hint = if message.starts_with("unknown field") {
        "remove the key or correct its spelling: the message lists the keys this table takes"
    } else if message.starts_with("unknown variant") {
        "use one of the values that the message lists"
    } else if message.starts_with("missing field") {
        "add the missing key to this table"
    } else if message.starts_with("invalid type") || message.starts_with("invalid value") {
        "write the value as the message expects: text in quotes, numbers bare, lists in `[...]`"
    } else {
        "correct the TOML at this line (https://toml.io describes the syntax)"
    };
    let line = error.span().map(|span| line_number(text, span.start));
    with_line(crate::error::hinted(message, hint), line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn unknown_key_names_key_and_line() {
        let error = Config::parse("[taxonomy]\nkeys = [\"dept\"]\nflavour = 1\n").unwrap_err();
        let text = format!("{error:#}");
        assert!(text.contains("flavour"), "{text}");
        assert!(text.contains("line 3"), "{text}");
    }

    #[test]
    fn lines_are_found_in_arrays_of_tables_and_inline_tables() {
        let text = "[[budgets]]\nname = \"a\"\n\n[[budgets]]\nname = \"b\"\n[budgets.scope]\n\
                    dept = \"x\"\n";
        assert_eq!(line_at(text, &at!["budgets", 1]), Some(4));
        assert_eq!(line_at(text, &at!["budgets", 1, "scope", "dept"]), Some(7));
        // A value left at its default points at its table.
        assert_eq!(line_at(text, &at!["budgets", 0, "soft_limit"]), Some(1));
        assert_eq!(line_at(text, &at!["rules"]), None);
    }
}
