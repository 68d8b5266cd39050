//! The header and records of a CSV bill (CUR or FOCUS), with errors that say where and why.
//!
//! Every error names the file and the line; one about a value also names its column, says what
//! was expected and what was found, and ends with a hint: a gzip file that ends early, a byte
//! that is not UTF-8, a line with another number of fields than the header, a header whose
//! columns are separated by something other than `,`.

use std::io::Read;

use anyhow::Result;

use crate::error::{InputError, hinted};

/// A CSV bill read record by record.
pub struct Records<R: Read> {
    reader: csv::Reader<std::io::BufReader<R>>,
    file: String,
    /// Lines the CSV reader under-counts (one for a CRLF file).
    line_offset: u64,
    headers: Vec<String>,
    bytes: csv::ByteRecord,
    /// The line of the last record read, for errors that have no position.
    last_line: u64,
}

impl<R: Read> Records<R> {
    /// Opens the bill and reads its header; an empty file or one without a header is an
    /// error.
    pub fn open(input: R, file: &str) -> Result<Records<R>> {
        let mut input = std::io::BufReader::new(input);
        let line_offset = super::super::crlf_line_offset(&mut input);
        let reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
        let mut records = Records {
            reader,
            file: file.to_string(),
            line_offset,
            headers: Vec::new(),
            bytes: csv::ByteRecord::new(),
            last_line: 1,
        };
        let header = match records.reader.byte_headers() {
            Ok(header) => header.clone(),
            Err(error) => return Err(records.error(error)),
        };
        records.headers = match csv::StringRecord::from_byte_record(header) {
            Ok(header) => header.iter().map(str::to_string).collect(),
            Err(error) => {
                let field = error.utf8_error().field();
                let bytes = error.into_byte_record();
                return Err(not_utf8(file, 1, &format!("column {}", field + 1), &bytes, field));
            }
        };
        if records.headers.iter().all(|name| name.trim().is_empty()) {
            return Err(hinted(
                format!("`{file}` is empty"),
                "the export may still be in progress; download it again",
            ));
        }
        Ok(records)
    }

    /// The header's column names, as written.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Reads the next record into `record` and returns its 1-based line, or `None` at the
    /// end of the file.
    pub fn next(&mut self, record: &mut csv::StringRecord) -> Result<Option<u64>> {
        match self.reader.read_byte_record(&mut self.bytes) {
            Ok(false) => return Ok(None),
            Ok(true) => {}
            Err(error) => return Err(self.error(error)),
        }
        let line = self.bytes.position().map_or(self.last_line + 1, csv::Position::line)
            + self.line_offset;
        let bytes = std::mem::take(&mut self.bytes);
        match csv::StringRecord::from_byte_record(bytes) {
            Ok(text) => {
                let old = std::mem::replace(record, text);
                self.bytes = old.into_byte_record();
            }
            Err(error) => {
                let field = error.utf8_error().field();
                let bytes = error.into_byte_record();
                let column = self.column_name(field);
                return Err(not_utf8(&self.file, line, &column, &bytes, field));
            }
        }
        self.last_line = line;
        Ok(Some(line))
    }

    /// The header name of a field, or its number when the header is shorter.
    fn column_name(&self, field: usize) -> String {
        self.headers.get(field).cloned().unwrap_or_else(|| format!("column {}", field + 1))
    }

    /// The CSV reader's error as one that names the line and says what to do.
    fn error(&self, error: csv::Error) -> anyhow::Error {
        let file = &self.file;
        let line_of = |position: Option<&csv::Position>| {
            position.map_or(self.last_line + 1, csv::Position::line) + self.line_offset
        };
        match error.kind() {
            csv::ErrorKind::Io(cause) => {
                let after = self.last_line;
                hinted(
                    format!(
                        "cannot read `{file}`: the file ends early or is damaged after line \
                         {after} ({cause})"
                    ),
                    "the download was probably cut off; download the file again",
                )
            }
            csv::ErrorKind::UnequalLengths { pos, expected_len, len } => hinted(
                format!(
                    "cannot read `{file}`: line {}: expected {expected_len} fields as in the \
                     header, found {len}",
                    line_of(pos.as_ref())
                ),
                "a value that holds a `,` must be in double quotes; check that the file was not \
                 cut or edited by hand",
            ),
            csv::ErrorKind::Utf8 { pos, err } => InputError::at_line(
                file,
                line_of(pos.as_ref()),
                &self.column_name(err.field()),
                "UTF-8 text",
                "a byte that is not UTF-8",
            )
            .with_hint(UTF8_HINT)
            .into(),
            _ => hinted(
                format!("cannot read `{file}` after line {}: {error}", self.last_line),
                "check that the file is a CSV export",
            ),
        }
    }
}

const UTF8_HINT: &str = "bills are UTF-8 text; re-save the file as UTF-8 (in a spreadsheet, \
                         choose \"CSV UTF-8\"), or convert it with `iconv -t UTF-8`";

/// The error for a field that is not UTF-8, showing the field with the bad bytes replaced.
fn not_utf8(
    file: &str,
    line: u64,
    column: &str,
    bytes: &csv::ByteRecord,
    field: usize,
) -> anyhow::Error {
    let shown = bytes.get(field).map(String::from_utf8_lossy).unwrap_or_default();
    InputError::at_line(file, line, column, "UTF-8 text", &shown).with_hint(UTF8_HINT).into()
}

/// When a header is one column that holds another separator, the error that says so.
pub fn separator_error(file: &str, headers: &[String]) -> Option<anyhow::Error> {
    let [only] = headers else { return None };
    let (separator, shown) = [(';', "`;`"), ('\t', "a tab"), ('|', "`|`")]
        .into_iter()
        .find(|(c, _)| only.contains(*c))?;
    let columns = only.split(separator).count();
    Some(hinted(
        format!(
            "cannot read `{file}`: its header separates {columns} columns with {shown}; bills \
             separate them with `,`"
        ),
        "export the bill again as plain CSV, or convert the separator to `,`",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &[u8]) -> Result<Vec<(u64, Vec<String>)>> {
        let mut records = Records::open(text, "bill.csv")?;
        let mut record = csv::StringRecord::new();
        let mut rows = Vec::new();
        while let Some(line) = records.next(&mut record)? {
            rows.push((line, record.iter().map(str::to_string).collect()));
        }
        Ok(rows)
    }

    fn message(error: &anyhow::Error) -> String {
        crate::error::render(error)
    }

    #[test]
    fn records_carry_their_lines() {
        let rows = read_all(b"a,b\n1,2\n\"x\ny\",3\n4,5\n").unwrap();
        let lines: Vec<u64> = rows.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [2, 3, 5]);
        assert_eq!(rows[1].1, ["x\ny", "3"]);
    }

    #[test]
    fn a_ragged_line_names_its_line_and_the_header_width() {
        let error = read_all(b"a,b,c\n1,2,3\n1,2,3,4,5,6\n").unwrap_err();
        let text = message(&error);
        assert!(
            text.contains("`bill.csv`: line 3: expected 3 fields as in the header, found 6"),
            "{text}"
        );
        assert!(text.contains("hint: a value that holds a `,` must be in double quotes"), "{text}");
    }

    #[test]
    fn a_byte_that_is_not_utf8_names_line_and_column() {
        let error = read_all(b"a,dept\n1,ok\n2,caf\xe9\n").unwrap_err();
        let text = message(&error);
        assert!(
            text.contains(
                "cannot read `bill.csv`: line 3, column `dept`: expected UTF-8 text, found `caf\u{fffd}`"
            ),
            "{text}"
        );
        assert!(text.contains("hint: bills are UTF-8 text"), "{text}");
    }

    #[test]
    fn a_truncated_gzip_says_so_and_where() {
        use std::io::Write as _;
        let mut text = String::from("a,b\n");
        for i in 0..20_000 {
            text.push_str(&format!("{i},{}\n", i * 7919 % 10007));
        }
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(text.as_bytes()).unwrap();
        let gzip = encoder.finish().unwrap();
        let cut = &gzip[..gzip.len() / 2];
        let input = flate2::read::MultiGzDecoder::new(cut);
        let mut records = Records::open(input, "bill.csv.gz").unwrap();
        let mut record = csv::StringRecord::new();
        let error = loop {
            match records.next(&mut record) {
                Ok(Some(_)) => {}
                Ok(None) => panic!("a truncated file read to its end"),
                Err(error) => break error,
            }
        };
        let text = message(&error);
        assert!(
            text.contains("`bill.csv.gz`: the file ends early or is damaged after line "),
            "{text}"
        );
        assert!(text.contains("hint: the download was probably cut off; download the file again"));
    }

    #[test]
    fn an_empty_file_and_another_separator_are_named() {
        let error = Records::open(&b""[..], "bill.csv").err().unwrap();
        assert!(message(&error).starts_with("error: `bill.csv` is empty"));
        let headers = vec!["lineItem/LineItemType;lineItem/UnblendedCost".to_string()];
        let text = message(&separator_error("bill.csv", &headers).unwrap());
        assert!(text.contains("its header separates 2 columns with `;`"), "{text}");
        assert!(separator_error("bill.csv", &["a".into(), "b;c".into()]).is_none());
    }
}
