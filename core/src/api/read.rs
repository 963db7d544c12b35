//! Reading typed values out of the request's JSON, each failure naming the field's path.
//!
//! BaGPipe-BGP reads the body as Python keyword arguments, so its tolerance is Python's: a key
//! given as `null` is *present* (`'k' in params`), and several options are tested for
//! truthiness (`if readvertise:`). [`is_falsy`] and the `Option`-returning getters reproduce
//! that, field by field, as the callers document.

use super::error::{ApiError, ApiProblem, JsonKind};
use serde_json::{Map, Value};

/// A JSON object and its path in the request (empty for the body itself).
#[derive(Clone, Copy)]
pub(crate) struct Obj<'a> {
    pub(crate) map: &'a Map<String, Value>,
    pub(crate) path: &'a str,
}

impl<'a> Obj<'a> {
    /// The body.
    pub(crate) fn root(map: &'a Map<String, Value>) -> Self {
        Obj { map, path: "" }
    }

    /// The path of `key` inside this object.
    pub(crate) fn field(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The value of `key`, `null` included (Python's `'key' in params`).
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    /// The value of `key`, `null` treated as absent (Python's `params.get(key)` tested for
    /// `None`).
    pub(crate) fn get_non_null(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// The value of `key`, which must be present (`null` counts as present, as in BaGPipe-BGP).
    pub(crate) fn required(&self, key: &str) -> Result<&'a Value, ApiError> {
        self.get(key)
            .ok_or_else(|| ApiError::new(self.field(key), ApiProblem::Missing))
    }
}

/// Python's truthiness: `null`, `false`, `0`, `""`, `[]` and `{}` are false.
pub(crate) fn is_falsy(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// A `WrongType` error at `field`.
pub(crate) fn wrong_type(field: &str, expected: &'static str, found: &Value) -> ApiError {
    ApiError::new(
        field,
        ApiProblem::WrongType {
            expected,
            found: JsonKind::of(found),
        },
    )
}

/// The value as an object.
pub(crate) fn object<'a>(v: &'a Value, field: &'a str) -> Result<Obj<'a>, ApiError> {
    match v {
        Value::Object(map) => Ok(Obj { map, path: field }),
        other => Err(wrong_type(field, "an object", other)),
    }
}

/// The value as an array.
pub(crate) fn array<'a>(v: &'a Value, field: &str) -> Result<&'a [Value], ApiError> {
    match v {
        Value::Array(items) => Ok(items),
        other => Err(wrong_type(field, "an array", other)),
    }
}

/// The value as a string.
pub(crate) fn string<'a>(v: &'a Value, field: &str) -> Result<&'a str, ApiError> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(wrong_type(field, "a string", other)),
    }
}

/// The value as a boolean.
pub(crate) fn boolean(v: &Value, field: &str) -> Result<bool, ApiError> {
    match v {
        Value::Bool(b) => Ok(*b),
        other => Err(wrong_type(field, "a boolean", other)),
    }
}

/// The value as a JSON integer in `min..=max`. Fractions are refused; integers beyond 64 bits
/// (which the JSON parser holds as floats) are out of range.
pub(crate) fn integer(v: &Value, field: &str, min: u64, max: u64) -> Result<u64, ApiError> {
    let Value::Number(n) = v else {
        return Err(wrong_type(field, "an integer", v));
    };
    let out_of_range = || {
        ApiError::new(
            field,
            ApiProblem::OutOfRange {
                value: n.to_string(),
                min,
                max,
            },
        )
    };
    if let Some(u) = n.as_u64() {
        return if (min..=max).contains(&u) {
            Ok(u)
        } else {
            Err(out_of_range())
        };
    }
    if n.is_i64() {
        return Err(out_of_range());
    }
    match n.as_f64() {
        Some(f) if f.is_finite() && f.fract() == 0.0 => Err(out_of_range()),
        _ => Err(ApiError::new(
            field,
            ApiProblem::WrongType {
                expected: "an integer",
                found: JsonKind::Number,
            },
        )),
    }
}

/// A JSON integer, or a string of decimal digits, in `min..=max`: how BaGPipe-BGP's OVS driver
/// reads port numbers and VLANs (`int(localport['ovs']['vlan'])`, reference §3.2).
pub(crate) fn integer_or_decimal_string(
    v: &Value,
    field: &str,
    min: u64,
    max: u64,
) -> Result<u64, ApiError> {
    match v {
        Value::String(s) => {
            let t = s.trim();
            let digits = t.strip_prefix('+').unwrap_or(t);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ApiError::new(
                    field,
                    ApiProblem::Malformed {
                        value: s.clone(),
                        expected: "an integer or a string of decimal digits",
                    },
                ));
            }
            let n = digits
                .parse::<u64>()
                .ok()
                .filter(|n| (min..=max).contains(n));
            n.ok_or_else(|| {
                ApiError::new(
                    field,
                    ApiProblem::OutOfRange {
                        value: s.clone(),
                        min,
                        max,
                    },
                )
            })
        }
        Value::Number(_) => integer(v, field, min, max),
        other => Err(wrong_type(
            field,
            "an integer or a string of decimal digits",
            other,
        )),
    }
}

/// An optional string field: absent or `null` is `None`.
pub(crate) fn opt_string(obj: Obj<'_>, key: &str) -> Result<Option<String>, ApiError> {
    obj.get_non_null(key)
        .map(|v| string(v, &obj.field(key)).map(str::to_string))
        .transpose()
}

/// A short JSON rendering of a value for a message (at most 64 characters).
pub(crate) fn show(v: &Value) -> String {
    let mut s = v.to_string();
    if s.len() > 64 {
        let mut cut = 61;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}
