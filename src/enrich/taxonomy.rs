//! The tag taxonomy: canonical tag keys and values, aliases, precedence and fallbacks.
//!
//! A tag key is canonical once its format prefix is gone (`user:` in CUR 1.0 headers,
//! `user_` in CUR 2.0 map keys, nothing in FOCUS) and it is trimmed, lower-cased and every
//! run of characters other than letters and digits is one `_`. So `resourceTags/user:Cost-Center`,
//! `resource_tags['user_cost_center']` and FOCUS `{"Cost Center": ...}` are all `cost_center`.
//!
//! Precedence, when a line carries several sources for one owner key: the key itself before
//! its aliases in the order the configuration lists them; for one key, resource tags before
//! cost categories; for one source, the first column of the file. Then the fallbacks: the
//! inference profile of the line, then its account. A line whose sources disagree keeps the
//! winning value, counts one conflict for that key, and its cost is counted once.

use std::collections::BTreeMap;

use crate::config::Config;

/// Canonical form of a tag key (without its format prefix).
pub fn canonical_key(raw: &str) -> String {
    let mut key = String::with_capacity(raw.len());
    let mut in_gap = false;
    for character in raw.trim().chars() {
        if character.is_alphanumeric() {
            key.extend(character.to_lowercase());
            in_gap = false;
        } else if !in_gap {
            key.push('_');
            in_gap = true;
        }
    }
    key
}

/// True when two canonical keys name one tag: they are compared without their `_`, because
/// AWS writes a key in more than one way. CUR 1.0 keeps `CostCenter` as it is, CUR 2.0 and the
/// Athena form split its humps into `cost_center`, and `SavingsPlanARN` even becomes
/// `savings_plan_a_r_n`; all of them are the key `costcenter` once the separators are gone.
pub fn same_key(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let mut left = a.bytes().filter(|byte| *byte != b'_');
    let mut right = b.bytes().filter(|byte| *byte != b'_');
    let mut any = false;
    loop {
        match (left.next(), right.next()) {
            (None, None) => return any,
            (Some(x), Some(y)) if x == y => any = true,
            _ => return false,
        }
    }
}

/// Canonical key of a CUR 1.0 tag header such as `resourceTags/user:Dept`, or `None` when the
/// header is not a tag. Cost categories (`costCategory/Name`) are returned with
/// `is_cost_category` set.
/// Both prefixes are matched without regard to case, as FORMATS.md §1.3 asks of every header
/// name: `RESOURCETAGS/USER:DEPT` is the key `dept`.
pub fn cur1_tag_header(header: &str) -> Option<TagSource> {
    let header = header.trim();
    if let Some(rest) = strip_prefix_ignore_case(header, "resourceTags/") {
        let key = strip_prefix_ignore_case(rest, "user:").unwrap_or(rest);
        return Some(TagSource { key: canonical_key(key), is_cost_category: false });
    }
    if let Some(name) = strip_prefix_ignore_case(header, "costCategory/") {
        return Some(TagSource { key: canonical_key(name), is_cost_category: true });
    }
    None
}

/// Canonical key of a CUR 2.0 `resource_tags` map key (`user_cost_center` and
/// `USER_COST_CENTER` are `cost_center`).
pub fn cur2_tag_key(map_key: &str) -> String {
    let map_key = map_key.trim();
    canonical_key(strip_prefix_ignore_case(map_key, "user_").unwrap_or(map_key))
}

/// `text` without `prefix`, compared without regard to ASCII case.
fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

/// Where a tag value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagSource {
    pub key: String,
    pub is_cost_category: bool,
}

/// A tag value in canonical form, or `None` when it means untagged (missing, null, empty,
/// blank, `NULL`). A value spelled like the `__unallocated__` bucket is untagged too: taking it
/// as an owner would make a second `__unallocated__` row and count its cost as covered.
pub fn canonical_value(raw: &str, normalize: bool) -> Option<String> {
    let value = raw.trim();
    if value.is_empty()
        || value.eq_ignore_ascii_case("null")
        || value.eq_ignore_ascii_case(crate::model::UNALLOCATED)
    {
        return None;
    }
    Some(if normalize { value.to_lowercase() } else { value.to_string() })
}

/// Which tags feed each output column, resolved once per run from the configuration.
#[derive(Debug, Clone)]
pub struct TagPlan {
    /// Output column name and its canonical source keys in precedence order.
    pub columns: Vec<(String, Vec<String>)>,
    pub normalize: bool,
    accounts: BTreeMap<String, BTreeMap<String, String>>,
    profiles: BTreeMap<String, BTreeMap<String, String>>,
}

/// The owner columns of one line and how many of them had conflicting sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub values: Vec<Option<String>>,
    pub conflicts: u32,
    /// Bit `i` is set when the `i`-th value came from a fallback, not from a tag.
    pub fallbacks: u32,
}

impl TagPlan {
    /// A plan for just these keys (taxonomy keys keep their aliases), for reports that group
    /// by a few keys and need no other owner column.
    pub fn only(config: &Config, keys: &[String]) -> TagPlan {
        let mut plan = TagPlan::new(config, keys);
        plan.columns.retain(|(name, _)| keys.contains(name));
        plan
    }

    /// The plan for the taxonomy keys plus any extra canonical tag keys asked for (`--by`).
    pub fn new(config: &Config, extra_keys: &[String]) -> TagPlan {
        let mut columns: Vec<(String, Vec<String>)> = config
            .taxonomy
            .keys
            .iter()
            .map(|key| (canonical_key(key), config.key_sources(key)))
            .collect();
        for key in extra_keys {
            let key = canonical_key(key);
            let is_bill_column = crate::model::costs::FIXED.contains(&key.as_str());
            if !is_bill_column && !columns.iter().any(|(name, _)| *name == key) {
                columns.push((key.clone(), vec![key]));
            }
        }
        let lower = |map: &BTreeMap<String, BTreeMap<String, String>>| {
            map.iter()
                .map(|(id, owners)| {
                    let owners = owners
                        .iter()
                        .map(|(k, v)| {
                            (canonical_key(k), canonical_value(v, true).unwrap_or_default())
                        })
                        .collect();
                    (id.trim().to_string(), owners)
                })
                .collect()
        };
        TagPlan {
            columns,
            normalize: config.taxonomy.normalize_values,
            accounts: lower(&config.taxonomy.fallbacks.accounts),
            profiles: lower(&config.taxonomy.fallbacks.inference_profiles),
        }
    }

    /// The output column names, in order.
    pub fn names(&self) -> Vec<String> {
        self.columns.iter().map(|(name, _)| name.clone()).collect()
    }

    /// Resolves one line's tags. `tags` holds (canonical key, raw value, is cost category) in
    /// file order; `account` and `resource` feed the fallbacks.
    pub fn resolve(
        &self,
        tags: &[(String, String, bool)],
        account: &str,
        resource: &str,
    ) -> Resolved {
        let mut values = Vec::with_capacity(self.columns.len());
        let mut conflicts = 0;
        let mut fallbacks = 0;
        for (column, sources) in &self.columns {
            let mut found: Vec<String> = Vec::new();
            for source in sources {
                for wants_category in [false, true] {
                    for (key, raw, is_category) in tags {
                        if *is_category == wants_category
                            && same_key(key, source)
                            && let Some(value) = canonical_value(raw, self.normalize)
                        {
                            found.push(value);
                        }
                    }
                }
            }
            let winner = found.first().cloned();
            if found.iter().any(|value| Some(value) != winner.as_ref()) {
                conflicts += 1;
            }
            let value = if winner.is_some() {
                winner
            } else {
                let found = self.fallback(column, account, resource);
                if found.is_some() && values.len() < 32 {
                    fallbacks |= 1 << values.len();
                }
                found
            };
            values.push(value);
        }
        Resolved { values, conflicts, fallbacks }
    }

    /// The owner from the inference-profile or account fallbacks.
    pub fn fallback(&self, column: &str, account: &str, resource: &str) -> Option<String> {
        let from_profile = self.profiles.get(resource.trim()).and_then(|owners| owners.get(column));
        let from_account = self.accounts.get(account.trim()).and_then(|owners| owners.get(column));
        from_profile.or(from_account).filter(|value| !value.is_empty()).cloned()
    }

    /// True when any fallback is configured (readers can skip the lookup otherwise).
    pub fn has_fallbacks(&self) -> bool {
        !self.accounts.is_empty() || !self.profiles.is_empty()
    }

    /// Fallback tables, for the Parquet readers that join them as frames.
    pub fn fallback_tables(
        &self,
    ) -> (&BTreeMap<String, BTreeMap<String, String>>, &BTreeMap<String, BTreeMap<String, String>>)
    {
        (&self.accounts, &self.profiles)
    }
}

/// Parses a JSON object of tags (FOCUS `Tags`, CUR 2.0 CSV `resource_tags`) into
/// (key, value) pairs in file order. Null, `{}` and the empty string are no tags. Numbers and
/// booleans are kept as their JSON text (`true` for a valueless tag); a null value is no tag.
///
/// An object or array value is an error: FOCUS allows only scalar values, and its JSON text
/// is no owner. A key given twice yields both pairs, so that the taxonomy keeps the first and
/// counts the disagreement as a conflict, as it does for two columns of one key.
pub fn parse_json_tags(text: &str) -> Result<Vec<(String, String)>, String> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("null") {
        return Ok(Vec::new());
    }
    let JsonPairs(pairs) = serde_json::from_str(text).map_err(|error| {
        if error.is_data() {
            "a JSON object of tags".to_string()
        } else {
            format!("a JSON object of tags ({error})")
        }
    })?;
    let mut tags = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        match value {
            serde_json::Value::Null => {}
            serde_json::Value::String(text) => tags.push((key, text)),
            serde_json::Value::Object(_) | serde_json::Value::Array(_) => {
                return Err(format!(
                    "a JSON object of tags with text, number or boolean values (the tag \
                     `{key}` holds an {})",
                    if value.is_object() { "object" } else { "array" }
                ));
            }
            other => tags.push((key, other.to_string())),
        }
    }
    Ok(tags)
}

/// The entries of a JSON object in file order, a key given twice kept twice.
struct JsonPairs(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for JsonPairs {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<JsonPairs, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = JsonPairs;

            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<JsonPairs, A::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(4));
                while let Some(entry) = map.next_entry::<String, serde_json::Value>()? {
                    pairs.push(entry);
                }
                Ok(JsonPairs(pairs))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(toml: &str) -> TagPlan {
        TagPlan::new(&Config::parse(toml).unwrap(), &[])
    }

    #[test]
    fn keys_are_canonical_across_formats() {
        assert_eq!(cur1_tag_header("resourceTags/user:Cost-Center").unwrap().key, "cost_center");
        assert_eq!(cur2_tag_key("user_cost_center"), "cost_center");
        assert_eq!(canonical_key("Cost Center"), "cost_center");
        assert_eq!(canonical_key("  Cost   department "), "cost_department");
        assert!(cur1_tag_header("costCategory/Team").unwrap().is_cost_category);
        assert_eq!(cur1_tag_header("lineItem/UsageType"), None);
    }

    #[test]
    fn camel_case_and_split_humps_are_one_key() {
        let cur1 = cur1_tag_header("resourceTags/user:CostCenter").unwrap().key;
        assert_eq!(cur1, "costcenter");
        assert!(same_key(&cur1, &cur2_tag_key("user_cost_center")));
        assert!(same_key("d_e_p_t", "dept"));
        assert!(!same_key("cost_center", "cost"));
        assert!(!same_key("_", "__"));
        let plan = plan("[taxonomy]\nkeys = [\"cost_center\"]\n");
        let tags = vec![("costcenter".to_string(), "R&D".to_string(), false)];
        assert_eq!(plan.resolve(&tags, "", "").values[0].as_deref(), Some("r&d"));
    }

    #[test]
    fn blank_null_and_empty_mean_untagged() {
        for raw in ["", "   ", "NULL", "null"] {
            assert_eq!(canonical_value(raw, true), None);
        }
        assert_eq!(canonical_value(" Finance ", true).as_deref(), Some("finance"));
        assert_eq!(parse_json_tags("{}").unwrap(), Vec::new());
        assert_eq!(parse_json_tags("").unwrap(), Vec::new());
    }

    #[test]
    fn same_value_spelled_twice_is_no_conflict() {
        let plan = plan("");
        let tags = vec![
            ("dept".into(), "Finance".into(), false),
            ("dept".into(), "finance ".into(), false),
        ];
        let resolved = plan.resolve(&tags, "", "");
        assert_eq!(resolved.values[0].as_deref(), Some("finance"));
        assert_eq!(resolved.conflicts, 0);
    }

    #[test]
    fn conflicting_values_keep_the_first_and_count() {
        let plan = plan("");
        let tags = vec![
            ("dept".into(), "Finance".into(), false),
            ("dept".into(), "Marketing".into(), false),
        ];
        let resolved = plan.resolve(&tags, "", "");
        assert_eq!(resolved.values[0].as_deref(), Some("finance"));
        assert_eq!(resolved.conflicts, 1);
    }

    #[test]
    fn key_wins_over_alias_and_tag_over_cost_category() {
        let plan = plan("[taxonomy.aliases]\ndept = [\"business_unit\"]\n");
        let tags = vec![
            ("business_unit".into(), "ops".into(), false),
            ("dept".into(), "sales".into(), true),
        ];
        assert_eq!(plan.resolve(&tags, "", "").values[0].as_deref(), Some("sales"));
        let tags = vec![("dept".into(), "cat".into(), true), ("dept".into(), "tag".into(), false)];
        assert_eq!(plan.resolve(&tags, "", "").values[0].as_deref(), Some("tag"));
    }

    #[test]
    fn account_owns_its_untagged_lines() {
        let plan =
            plan("[taxonomy.fallbacks.accounts]\n\"111122223333\" = { dept = \"Platform\" }\n");
        let resolved = plan.resolve(&[], "111122223333", "");
        assert_eq!(resolved.values[0].as_deref(), Some("platform"));
        assert_eq!(plan.resolve(&[], "999", "").values[0], None);
    }

    #[test]
    fn tag_prefixes_match_without_regard_to_case() {
        for header in ["RESOURCETAGS/USER:DEPT", "resourceTags/User:Dept", "resourcetags/user:dept"]
        {
            let source = cur1_tag_header(header).unwrap();
            assert_eq!(source, TagSource { key: "dept".into(), is_cost_category: false });
        }
        assert_eq!(cur1_tag_header("resourceTags/aws:createdBy").unwrap().key, "aws_createdby");
        let category = cur1_tag_header("COSTCATEGORY/Team").unwrap();
        assert_eq!(category, TagSource { key: "team".into(), is_cost_category: true });
        assert_eq!(cur2_tag_key("USER_DEPT"), "dept");
        assert_eq!(cur2_tag_key("User_Cost_Center"), "cost_center");
        assert_eq!(cur2_tag_key("aws_created_by"), "aws_created_by");
    }

    #[test]
    fn a_value_spelled_like_the_unallocated_bucket_is_untagged() {
        for raw in ["__unallocated__", " __UNALLOCATED__ "] {
            assert_eq!(canonical_value(raw, true), None);
            assert_eq!(canonical_value(raw, false), None);
        }
        let plan = plan("");
        let tags = vec![("dept".into(), "__unallocated__".into(), false)];
        assert_eq!(plan.resolve(&tags, "", "").values[0], None);
    }

    #[test]
    fn object_and_array_tag_values_are_errors() {
        let error = parse_json_tags(r#"{"user_dept":{"a":1}}"#).unwrap_err();
        assert!(error.starts_with("a JSON object of tags"), "{error}");
        assert!(error.contains("`user_dept` holds an object"), "{error}");
        let error = parse_json_tags(r#"{"dept":["a"]}"#).unwrap_err();
        assert!(error.contains("`dept` holds an array"), "{error}");
        assert_eq!(parse_json_tags("[1]").unwrap_err(), "a JSON object of tags");
        let tags = parse_json_tags(r#"{"a":1.5,"b":true,"c":null,"d":"x"}"#).unwrap();
        let want = [("a", "1.5"), ("b", "true"), ("d", "x")].map(|(k, v)| (k.into(), v.into()));
        assert_eq!(tags, want);
    }

    #[test]
    fn a_key_given_twice_keeps_the_first_value_and_counts_a_conflict() {
        let pairs = parse_json_tags(r#"{"user_dept":"x","user_dept":"y"}"#).unwrap();
        assert_eq!(pairs, [("user_dept".into(), "x".into()), ("user_dept".into(), "y".into())]);
        let tags: Vec<(String, String, bool)> =
            pairs.into_iter().map(|(k, v)| (cur2_tag_key(&k), v, false)).collect();
        let resolved = plan("").resolve(&tags, "", "");
        assert_eq!(resolved.values[0].as_deref(), Some("x"));
        assert_eq!(resolved.conflicts, 1);
    }
}
