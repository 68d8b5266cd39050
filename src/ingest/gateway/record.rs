//! One log record, from a CSV row or a JSONL line, with typed access that reports its place.
//!
//! A record is a map from source column to JSON value: CSV cells are strings, JSONL values
//! keep their JSON type. Prompt and response bodies (`messages`, `response`, `request`,
//! `request.body`, `response.body`, `proxy_server_request`) are removed as soon as a line is
//! parsed and never reach a reader. Every typed accessor that fails names the file, the line
//! and the column.

#![allow(clippy::doc_markdown)] // product names (LiteLLM, OpenAI) are words

use std::io::{BufRead, Read};
use std::sync::Arc;

use anyhow::Result;
use chrono::{DateTime, TimeZone as _, Utc};
use serde_json::{Map, Value};

use crate::error::InputError;
use crate::ingest::time::parse_instant;
use crate::money::Money;

/// Columns that hold prompt or response bodies; they are dropped unread.
pub const BODY_COLUMNS: [&str; 8] = [
    "messages",
    "response",
    "request",
    "request.body",
    "response.body",
    "request_body",
    "response_body",
    "proxy_server_request",
];

/// One source record.
#[derive(Debug, Clone)]
pub struct Record {
    pub file: Arc<str>,
    pub line: u64,
    pub fields: Map<String, Value>,
}

/// True when a column holds a body that must not be read.
pub fn is_body(column: &str) -> bool {
    BODY_COLUMNS.iter().any(|body| column.eq_ignore_ascii_case(body))
}

/// Reads a CSV stream with a header, calling `each` per record.
pub fn read_csv(
    input: impl Read,
    file: &str,
    mut each: impl FnMut(Record) -> Result<()>,
) -> Result<()> {
    let file: Arc<str> = Arc::from(file);
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let header: Vec<String> = reader
        .headers()
        .map_err(|error| csv_error(&file, &error))?
        .iter()
        .map(|name| name.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    let mut row = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => return Err(csv_error(&file, &error)),
        }
        let line = row.position().map_or(0, csv::Position::line);
        let mut fields = Map::new();
        for (name, cell) in header.iter().zip(row.iter()) {
            if !is_body(name) {
                fields.insert(name.clone(), Value::String(cell.to_string()));
            }
        }
        each(Record { file: file.clone(), line, fields })?;
    }
    Ok(())
}

/// A CSV syntax error with its place.
fn csv_error(file: &str, error: &csv::Error) -> anyhow::Error {
    let line = error.position().map_or(0, csv::Position::line);
    let mut input = InputError::at_line(file, line, "(row)", "a CSV row", &error.to_string());
    input.found = error.to_string();
    anyhow::Error::new(input.with_hint("every row needs as many fields as the header"))
}

/// Reads JSON Lines, one object per line (blank lines are skipped), calling `each`.
pub fn read_jsonl(
    input: impl BufRead,
    file: &str,
    mut each: impl FnMut(Record) -> Result<()>,
) -> Result<()> {
    let file: Arc<str> = Arc::from(file);
    for (index, text) in input.lines().enumerate() {
        let line = index as u64 + 1;
        let text = text.map_err(|error| anyhow::anyhow!("cannot read `{file}`: {error}"))?;
        if text.trim().is_empty() {
            continue;
        }
        let fields = parse_object(&text).map_err(|(character, message)| {
            let mut input =
                InputError::at_line(&file, line, "(record)", "one JSON object per line", &text);
            input.location = format!("line {line}, character {character}");
            input.with_hint(format!("the JSON does not parse: {message}"))
        })?;
        each(Record { file: file.clone(), line, fields })?;
    }
    Ok(())
}

/// Parses one JSON object and drops its body fields; the error carries the character.
pub fn parse_object(text: &str) -> Result<Map<String, Value>, (usize, String)> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(mut fields)) => {
            fields.retain(|name, _| !is_body(name));
            Ok(fields)
        }
        Ok(_) => Err((1, "not an object".into())),
        Err(error) => Err((error.column(), error.to_string())),
    }
}

impl Record {
    /// The value of a column: exact name first, then without regard to case.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.get(name).or_else(|| {
            self.fields.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, v)| v)
        })
    }

    /// True when the column exists (even if empty).
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// An error for a bad value in `column`.
    pub fn error(&self, column: &str, expected: &str, found: &str) -> anyhow::Error {
        InputError::at_line(&self.file, self.line, column, expected, found).into()
    }

    /// Text of a column, trimmed; `None` when missing, null or blank.
    pub fn text(&self, name: &str) -> Option<String> {
        value_text(self.get(name)?)
    }

    /// An integer column (a JSON number, or text such as `12` or `12.0`).
    pub fn int(&self, name: &str) -> Result<Option<i64>> {
        let Some(value) = self.get(name) else { return Ok(None) };
        value_int(value).map_err(|found| self.error(name, "a whole number of zero or more", &found))
    }

    /// A money column in its source unit.
    pub fn money(&self, name: &str) -> Result<Option<Money>> {
        let Some(value) = self.get(name) else { return Ok(None) };
        value_money(value).map_err(|found| self.error(name, "a decimal number", &found))
    }

    /// A time stamp column: text (an offset is converted, none means UTC) or Unix epoch.
    pub fn instant(&self, name: &str) -> Result<Option<DateTime<Utc>>> {
        let Some(value) = self.get(name) else { return Ok(None) };
        let parsed = match value {
            Value::Null => return Ok(None),
            Value::Number(number) => number.as_i64().and_then(epoch),
            Value::String(text) if text.trim().is_empty() => return Ok(None),
            Value::String(text) => parse_instant(text),
            _ => None,
        };
        parsed.map(Some).ok_or_else(|| {
            self.error(name, "a time stamp such as `2025-01-31T23:00:00Z`", &value_display(value))
        })
    }

    /// A JSON column: an object or array as is, or text holding JSON (blank is `None`).
    pub fn json(&self, name: &str) -> Result<Option<Value>> {
        let Some(value) = self.get(name) else { return Ok(None) };
        match value {
            Value::Null => Ok(None),
            Value::String(text) if text.trim().is_empty() => Ok(None),
            Value::String(text) => {
                serde_json::from_str(text).map(Some).map_err(|_| self.error(name, "JSON", text))
            }
            other => Ok(Some(other.clone())),
        }
    }
}

/// Seconds (10 digits or fewer) or milliseconds since the epoch.
pub fn epoch(number: i64) -> Option<DateTime<Utc>> {
    if number.unsigned_abs() >= 100_000_000_000 {
        Utc.timestamp_millis_opt(number).single()
    } else {
        Utc.timestamp_opt(number, 0).single()
    }
}

/// Text of a JSON value; `None` for null and blank text.
pub fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.trim().to_string()).filter(|t| !t.is_empty()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Number(number) => Some(number.to_string()),
        other => Some(other.to_string()),
    }
}

/// A count (tokens, attempts, milliseconds) from a JSON value: a whole number, never
/// negative; `Err` holds what was found.
pub fn value_int(value: &Value) -> Result<Option<i64>, String> {
    match whole_number(value)? {
        Some(count) if count < 0 => Err(count.to_string()),
        other => Ok(other),
    }
}

/// A whole number from a JSON value; `Err` holds what was found.
#[allow(clippy::cast_possible_truncation)] // a whole double below 2^53 converts exactly
fn whole_number(value: &Value) -> Result<Option<i64>, String> {
    match value {
        Value::Null => Ok(None),
        Value::Number(number) => number
            .as_i64()
            .or_else(|| {
                number.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9e15).map(|f| f as i64)
            })
            .map(Some)
            .ok_or_else(|| number.to_string()),
        Value::String(text) => {
            let text = text.trim();
            if text.is_empty() || text.eq_ignore_ascii_case("null") {
                return Ok(None);
            }
            if let Ok(whole) = text.parse::<i64>() {
                return Ok(Some(whole));
            }
            match Money::parse(text) {
                Ok(amount) if amount.raw() % crate::money::ONE == 0 => {
                    i64::try_from(amount.raw() / crate::money::ONE)
                        .map(Some)
                        .map_err(|_| text.into())
                }
                _ => Err(text.to_string()),
            }
        }
        other => Err(other.to_string()),
    }
}

/// An exact amount from a JSON value (a double goes through its shortest text form).
pub fn value_money(value: &Value) -> Result<Option<Money>, String> {
    match value {
        Value::Null => Ok(None),
        Value::Number(number) => {
            if let Some(whole) = number.as_i64() {
                return Ok(Some(Money::from_units(whole)));
            }
            let double = number.as_f64().ok_or_else(|| number.to_string())?;
            Money::from_f64(double).map(Some).map_err(|_| number.to_string())
        }
        Value::String(text) => {
            let text = text.trim();
            if text.is_empty() || text.eq_ignore_ascii_case("null") {
                return Ok(None);
            }
            Money::parse(text).map(Some).map_err(|_| text.to_string())
        }
        other => Err(other.to_string()),
    }
}

/// A value as users read it in messages.
pub fn value_display(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Follows a path of object keys (`["usage_object", "prompt_tokens_details"]`).
pub fn path<'a>(value: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().try_fold(value, |current, key| current.get(key))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_dropped_when_parsed() {
        let fields =
            parse_object(r#"{"id": "a", "messages": [{"content": "secret"}], "request": {}}"#)
                .unwrap();
        assert_eq!(fields.keys().collect::<Vec<_>>(), ["id"]);
    }

    #[test]
    fn malformed_jsonl_names_line_and_character() {
        let input = "{\"a\": 1}\n{\"a\": oops}\n";
        let error = read_jsonl(input.as_bytes(), "log.jsonl", |_| Ok(())).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("`log.jsonl`: line 2, character"), "{text}");
    }

    #[test]
    fn numbers_as_text_or_json() {
        assert_eq!(value_int(&Value::String("12.0".into())), Ok(Some(12)));
        assert_eq!(value_int(&serde_json::json!(7)), Ok(Some(7)));
        assert!(value_int(&Value::String("1.5".into())).is_err());
        assert_eq!(value_money(&serde_json::json!(0.1)), Ok(Some(Money::parse("0.1").unwrap())));
        assert_eq!(
            value_money(&Value::String("1.50".into())),
            Ok(Some(Money::parse("1.5").unwrap()))
        );
    }
}
