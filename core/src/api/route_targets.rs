//! Route target lists as the API gives them (reference §3.2; RFC 4360 §4 for the values).
//!
//! BaGPipe-BGP is lenient about `import_rt`/`export_rt` and strict about the RT lists inside
//! `readvertise` and `attract_traffic`:
//! - `import_rt`/`export_rt`: a list, or one string split at commas (`re.split(',+ *')`), with
//!   duplicates removed;
//! - the others: a list only (`assert isinstance(orig_list, list)`), duplicates kept;
//! - in both, empty strings are skipped and anything else must be an RT.
//!
//! BaGPipe-BGP itself only takes 2-octet-AS RTs (`ASN:NN`, reference §9 item 2); the IPv4 and
//! 4-octet-AS forms of RFC 4360 §4 / RFC 5668 are accepted here as well.

use super::error::{ApiError, ApiProblem};
use super::read::{array, wrong_type};
use crate::wire::RouteTarget;
use serde_json::Value;

/// One RT text; surrounding whitespace is tolerated as Python's `int()` tolerates it.
fn parse_one(text: &str, field: &str) -> Result<RouteTarget, ApiError> {
    text.trim().parse::<RouteTarget>().map_err(|e| {
        ApiError::new(
            field,
            ApiProblem::MalformedRouteTarget {
                value: text.to_string(),
                reason: e.to_string(),
            },
        )
    })
}

/// The RTs of a JSON list, empty strings skipped.
fn parse_list(items: &[Value], field: &str) -> Result<Vec<RouteTarget>, ApiError> {
    let mut out = Vec::with_capacity(items.len().min(64));
    for (i, item) in items.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let text = match item {
            Value::String(s) => s,
            other => return Err(wrong_type(&at, "a route target string", other)),
        };
        if text.is_empty() {
            continue;
        }
        out.push(parse_one(text, &at)?);
    }
    Ok(out)
}

/// `import_rt` or `export_rt`: a list of RT strings or one comma-separated string; empty entries
/// skipped, duplicates removed (first occurrence kept, so the order is deterministic where
/// BaGPipe-BGP's `list(set(...))` is not).
pub(crate) fn instance_rts(v: &Value, field: &str) -> Result<Vec<RouteTarget>, ApiError> {
    let rts = match v {
        Value::String(s) => {
            let mut out = Vec::new();
            for piece in s.split(',') {
                let piece = piece.trim_start_matches(' ');
                if piece.is_empty() {
                    continue;
                }
                out.push(parse_one(piece, field)?);
            }
            out
        }
        Value::Array(items) => parse_list(items, field)?,
        other => {
            return Err(wrong_type(
                field,
                "a list of route targets or a string",
                other,
            ))
        }
    };
    let mut seen = std::collections::BTreeSet::new();
    Ok(rts.into_iter().filter(|rt| seen.insert(*rt)).collect())
}

/// An RT list inside `readvertise` or `attract_traffic`: a JSON list only, duplicates kept.
pub(crate) fn rt_list(v: &Value, field: &str) -> Result<Vec<RouteTarget>, ApiError> {
    parse_list(array(v, field)?, field)
}
