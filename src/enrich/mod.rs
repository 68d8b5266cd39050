//! Enrichment: the tag taxonomy, Bedrock usage types and the price book.

pub mod prices;
pub mod taxonomy;
