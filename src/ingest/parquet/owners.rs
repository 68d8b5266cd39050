//! The owner columns of a Parquet bill: its tags (a Parquet MAP or JSON text) and cost
//! categories resolved through the taxonomy, with the account and resource as fallbacks,
//! in one pass over each batch.
//!
//! [`finish`] adds the owners, the conflict and fallback counts and the provisional flag to
//! a flavour's fixed columns, and puts every column in canonical order. Rows are resolved
//! by signature, once per distinct set of values a batch holds.

use std::sync::Arc;

use anyhow::Result;
use polars::prelude::*;

use super::cells::{TextArray, TextCells, broadcast};
use crate::enrich::taxonomy::{
    Resolved, TagPlan, canonical_key, cur2_tag_key, parse_json_tags, same_key,
};
use crate::model::costs;

/// The inputs of tag resolution for one file.
pub(super) struct TagInputs {
    pub(super) tags: Option<String>,
    pub(super) categories: Option<String>,
    pub(super) account: Expr,
    pub(super) resource: Expr,
    /// CUR 2.0 map keys carry a `user_` prefix.
    pub(super) prefixed: bool,
    /// The file, for messages.
    pub(super) path: String,
}

/// Adds the owner columns and the conflict count, and orders the columns canonically.
pub(super) fn finish(
    frame: LazyFrame,
    fixed: Vec<Expr>,
    tags: TagInputs,
    provisional: Expr,
    plan: &TagPlan,
) -> Result<LazyFrame> {
    let plan = Arc::new(plan.clone());
    let names = plan.names();
    let tag_column = |name: &Option<String>| {
        name.as_ref().map_or(lit(NULL).cast(DataType::String), |n| col(n.as_str()))
    };
    // The account and resource only feed the fallbacks: without any, neither is read.
    let has_fallbacks = plan.has_fallbacks();
    let fallback =
        |input: Expr| if has_fallbacks { input } else { lit(NULL).cast(DataType::String) };
    let output_names = names.clone();
    let prefixed = tags.prefixed;
    let path = tags.path.clone();
    let resolver = move |columns: &mut [Column]| resolve_owners(columns, &plan, prefixed, &path);
    let owners = tag_column(&tags.tags).map_many(
        resolver,
        &[tag_column(&tags.categories), fallback(tags.account), fallback(tags.resource)],
        move |_, _| Ok(owners_field(&output_names)),
    );
    let mut columns = fixed;
    columns.push(owners.alias("__owners"));
    columns.push(provisional.alias(costs::PROVISIONAL));
    let mut order: Vec<Expr> = costs::FIXED
        .iter()
        .map(|name| match *name {
            costs::TAG_CONFLICTS => col("__owners").struct_().field_by_name(costs::TAG_CONFLICTS),
            costs::OWNER_FALLBACKS => {
                col("__owners").struct_().field_by_name(costs::OWNER_FALLBACKS)
            }
            other => col(other),
        })
        .collect();
    for name in &names {
        order.push(col("__owners").struct_().field_by_name(name));
    }
    Ok(frame.select(columns).select(order))
}

/// The struct the tag resolver returns: one string per owner column and the conflicts.
fn owners_field(names: &[String]) -> Field {
    let mut fields: Vec<Field> =
        names.iter().map(|n| Field::new(n.as_str().into(), DataType::String)).collect();
    fields.push(Field::new(costs::TAG_CONFLICTS.into(), DataType::UInt32));
    fields.push(Field::new(costs::OWNER_FALLBACKS.into(), DataType::UInt32));
    Field::new("__owners".into(), DataType::Struct(fields))
}

/// Resolves the owners of every row of a batch: inputs are the tags, the cost categories,
/// the account and the resource.
///
/// Rows are resolved by their signature: which values the keys the plan reads hold (and the
/// account and resource when fallbacks are configured), each named by its Arrow view, so two
/// equal views are always the same text. A bill repeats few signatures, so each is resolved
/// once per batch and the other rows only look it up, without allocating or hashing text.
fn resolve_owners(
    columns: &mut [Column],
    plan: &TagPlan,
    prefixed: bool,
    path: &str,
) -> PolarsResult<Column> {
    let length = broadcast(columns);
    let mut wanted: Vec<&str> = Vec::new();
    for (_, sources) in &plan.columns {
        for source in sources {
            if !wanted.contains(&source.as_str()) {
                wanted.push(source);
            }
        }
    }
    let slot_of = |canonical: &str| wanted.iter().position(|w| same_key(w, canonical));
    let tags = TagCells::new(&columns[0], path, &|raw| {
        slot_of(&if prefixed { cur2_tag_key(raw) } else { canonical_key(raw) })
    })?;
    let categories = TagCells::new(&columns[1], path, &|raw| slot_of(&canonical_key(raw)))?;
    let fallbacks = plan.has_fallbacks();
    let accounts = TextCells::new(&columns[2])?;
    let resources = TextCells::new(&columns[3])?;
    let mut cache: PlHashMap<Vec<(usize, u128)>, usize> = PlHashMap::default();
    let mut results: Vec<Resolved> = Vec::new();
    let mut picks: Vec<usize> = Vec::with_capacity(length);
    let mut signature: Vec<(usize, u128)> = Vec::new();
    let mut pairs: Vec<(usize, &str)> = Vec::new();
    for row in 0..length {
        signature.clear();
        tags.push_ids(row, 0, &mut signature);
        categories.push_ids(row, 1, &mut signature);
        if fallbacks {
            signature.push((usize::MAX, accounts.id(row)));
            signature.push((usize::MAX - 1, resources.id(row)));
        }
        let pick = if let Some(found) = cache.get(signature.as_slice()) {
            *found
        } else {
            pairs.clear();
            tags.push_pairs(row, 0, &mut pairs);
            categories.push_pairs(row, 1, &mut pairs);
            let line: Vec<(String, String, bool)> = pairs
                .iter()
                .map(|(code, value)| {
                    (wanted[code / 2].to_string(), (*value).to_string(), code % 2 == 1)
                })
                .collect();
            results.push(plan.resolve(&line, accounts.get(row), resources.get(row)));
            cache.insert(signature.clone(), results.len() - 1);
            results.len() - 1
        };
        picks.push(pick);
    }
    let mut fields: Vec<Column> = plan
        .names()
        .iter()
        .enumerate()
        .map(|(index, name)| {
            StringChunked::from_iter_options(
                name.as_str().into(),
                picks.iter().map(|pick| results[*pick].values[index].as_deref()),
            )
            .into_column()
        })
        .collect();
    let conflicts: Vec<u32> = picks.iter().map(|pick| results[*pick].conflicts).collect();
    fields.push(Column::new(costs::TAG_CONFLICTS.into(), conflicts));
    let fallbacks: Vec<u32> = picks.iter().map(|pick| results[*pick].fallbacks).collect();
    fields.push(Column::new(costs::OWNER_FALLBACKS.into(), fallbacks));
    Ok(StructChunked::from_columns("__owners".into(), length, &fields)?.into_column())
}

/// A tag column of one batch (a Parquet MAP, JSON text, or absent), with each key already
/// turned into its slot among the keys the plan reads.
enum TagCells {
    None,
    Map {
        /// The entries of each row; a null map has none.
        offsets: Vec<(usize, usize)>,
        slots: Vec<Option<usize>>,
        values: TextArray,
    },
    Json {
        rows: Vec<usize>,
        parsed: Vec<Vec<(usize, String)>>,
    },
}

impl TagCells {
    /// Reads the column; `slot` gives the slot of a raw key, or `None` for a key the plan
    /// does not read.
    fn new(
        column: &Column,
        path: &str,
        slot: &dyn Fn(&str) -> Option<usize>,
    ) -> PolarsResult<TagCells> {
        match column.dtype() {
            DataType::List(_) if !column.is_empty() => {
                let list = column.list()?.rechunk();
                let array = list.downcast_as_array();
                let offsets = array.offsets();
                let entries = list.get_inner();
                let fields = entries.struct_()?.fields_as_series();
                let keys = fields[0].cast(&DataType::String)?;
                let values = fields[1].cast(&DataType::String)?;
                let keys = keys.str()?.rechunk();
                let values = values.str()?.rechunk();
                let keys = keys.downcast_as_array();
                let mut known: PlHashMap<u128, Option<usize>> = PlHashMap::default();
                let slots = (0..keys.len())
                    .map(|entry| {
                        let key = keys.get(entry)?;
                        *known.entry(keys.views()[entry].as_u128()).or_insert_with(|| slot(key))
                    })
                    .collect();
                Ok(TagCells::Map {
                    offsets: (0..array.len())
                        .map(|row| {
                            let valid = array.validity().is_none_or(|valid| valid.get_bit(row));
                            if valid { offsets.start_end(row) } else { (0, 0) }
                        })
                        .collect(),
                    slots,
                    values: values.downcast_as_array().clone(),
                })
            }
            DataType::String if !column.is_empty() => {
                let text = column.str()?;
                let mut seen: PlHashMap<&str, usize> = PlHashMap::default();
                let mut parsed = Vec::new();
                let mut rows = Vec::with_capacity(text.len());
                for value in text.iter() {
                    let value = value.unwrap_or("");
                    if let Some(index) = seen.get(value) {
                        rows.push(*index);
                        continue;
                    }
                    let pairs = parse_json_tags(value).map_err(|expected| {
                        let name = column.name();
                        polars_err!(ComputeError: "cannot read `{path}`: column `{name}`: expected {expected}, found `{value}`")
                    })?;
                    parsed.push(
                        pairs
                            .into_iter()
                            .filter_map(|(key, value)| slot(&key).map(|slot| (slot, value)))
                            .collect(),
                    );
                    seen.insert(value, parsed.len() - 1);
                    rows.push(parsed.len() - 1);
                }
                Ok(TagCells::Json { rows, parsed })
            }
            _ => Ok(TagCells::None),
        }
    }

    /// Appends the (slot code, value id) pairs of a row, in file order: equal ids are equal
    /// values (the Arrow view of a map value, or the place of a parsed JSON value).
    fn push_ids(&self, row: usize, source: usize, out: &mut Vec<(usize, u128)>) {
        match self {
            TagCells::None => {}
            TagCells::Map { offsets, slots, values } => {
                let (start, end) = offsets[row];
                for entry in start..end {
                    if let Some(slot) = slots[entry]
                        && values.get(entry).is_some()
                    {
                        out.push((slot * 2 + source, values.views()[entry].as_u128()));
                    }
                }
            }
            TagCells::Json { rows, parsed } => {
                let index = rows[row];
                for (place, (slot, _)) in parsed[index].iter().enumerate() {
                    out.push((slot * 2 + source, ((index as u128) << 64) | place as u128));
                }
            }
        }
    }

    /// Appends the (slot code, raw value) pairs of a row, in file order; the code is
    /// `slot * 2 + source` (0 for tags, 1 for cost categories).
    fn push_pairs<'a>(&'a self, row: usize, source: usize, out: &mut Vec<(usize, &'a str)>) {
        match self {
            TagCells::None => {}
            TagCells::Map { offsets, slots, values } => {
                let (start, end) = offsets[row];
                for entry in start..end {
                    if let Some(slot) = slots[entry]
                        && let Some(value) = values.get(entry)
                    {
                        out.push((slot * 2 + source, value));
                    }
                }
            }
            TagCells::Json { rows, parsed } => {
                for (slot, value) in &parsed[rows[row]] {
                    out.push((slot * 2 + source, value.as_str()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_tags_follow_each_rows_offsets() {
        let rows: Vec<Series> = ["a", "b", "c"]
            .iter()
            .map(|dept| {
                let key = Series::new("key".into(), ["user_dept"]);
                let value = Series::new("value".into(), [*dept]);
                StructChunked::from_series("entry".into(), 1, [&key, &value].into_iter())
                    .unwrap()
                    .into_series()
            })
            .collect();
        let tags = Series::new("resource_tags".into(), rows).into_column();
        let sliced = tags.slice(1, 2);
        let cells =
            TagCells::new(&sliced, "t.parquet", &|key| (cur2_tag_key(key) == "dept").then_some(3))
                .unwrap();
        for (row, dept) in [(0, "b"), (1, "c")] {
            let mut pairs = Vec::new();
            cells.push_pairs(row, 1, &mut pairs);
            assert_eq!(pairs, [(7, dept)]);
        }
    }
}
