//! A small INI reader with oslo.config's rules, enough for BaGPipe-BGP's `bgp.conf`:
//! - `[section]` headers; section names are case-insensitive except `DEFAULT` (oslo normalises
//!   group names to lower case); a section given twice is one section;
//! - `key = value` or `key: value`, split at the first `=` or `:`; keys are case-sensitive;
//!   values are trimmed and one pair of matching surrounding quotes is removed;
//! - whole-line comments start with `#` or `;` (no inline comments: `a = b # c` is `b # c`);
//! - an indented line continues the previous value (joined with a newline);
//! - a key repeated in a section: the last one wins (multi-valued options are not used here).
//!
//! No crate was taken for this: the common INI crates differ from oslo on exactly these points
//! (inline comments, case folding, continuation lines), and the format is small.

use core::fmt;

/// One `key = value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniEntry {
    /// The key as written.
    pub key: String,
    /// The value, trimmed and unquoted.
    pub value: String,
    /// 1-based line of the key.
    pub line: usize,
}

/// A section and its entries in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniSection {
    /// The normalised name (`DEFAULT`, or lower case).
    pub name: String,
    /// The name as first written (for messages).
    pub written_name: String,
    /// The entries, in order.
    pub entries: Vec<IniEntry>,
}

impl IniSection {
    /// The last value given for `key`.
    pub fn get(&self, key: &str) -> Option<&IniEntry> {
        self.entries.iter().rev().find(|e| e.key == key)
    }
}

/// A parsed file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IniDocument {
    /// The sections, in order of first appearance.
    pub sections: Vec<IniSection>,
}

/// A line that is not INI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniSyntaxError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: &'static str,
}

impl fmt::Display for IniSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// oslo.config's group-name normalisation.
pub fn normalize_section(name: &str) -> String {
    if name == "DEFAULT" {
        name.to_string()
    } else {
        name.to_ascii_lowercase()
    }
}

impl IniDocument {
    /// Parse `text`.
    pub fn parse(text: &str) -> Result<Self, IniSyntaxError> {
        let mut doc = IniDocument::default();
        // (section index, entry index) of the value a continuation line extends.
        let mut open_value: Option<(usize, usize)> = None;
        let mut current: Option<usize> = None;
        for (index, raw) in text.lines().enumerate() {
            let line_no = index + 1;
            let line = raw.trim_end();
            if line.trim().is_empty() {
                open_value = None;
                continue;
            }
            let trimmed = line.trim_start();
            if trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            let indented = line.starts_with(' ') || line.starts_with('\t');
            if indented {
                if let Some((s, e)) = open_value {
                    if let Some(entry) = doc
                        .sections
                        .get_mut(s)
                        .and_then(|sec| sec.entries.get_mut(e))
                    {
                        if !entry.value.is_empty() {
                            entry.value.push('\n');
                        }
                        entry.value.push_str(unquote(trimmed.trim()));
                    }
                    continue;
                }
            }
            if let Some(rest) = trimmed.strip_prefix('[') {
                let name = rest.strip_suffix(']').ok_or(IniSyntaxError {
                    line: line_no,
                    message: "section header without a closing ']'",
                })?;
                let name = name.trim();
                if name.is_empty() {
                    return Err(IniSyntaxError {
                        line: line_no,
                        message: "empty section name",
                    });
                }
                let normalized = normalize_section(name);
                let position = match doc.sections.iter().position(|s| s.name == normalized) {
                    Some(p) => p,
                    None => {
                        doc.sections.push(IniSection {
                            name: normalized,
                            written_name: name.to_string(),
                            entries: Vec::new(),
                        });
                        doc.sections.len() - 1
                    }
                };
                current = Some(position);
                open_value = None;
                continue;
            }
            let split = trimmed.find(['=', ':']).ok_or(IniSyntaxError {
                line: line_no,
                message: "expected 'key = value', a section header or a comment",
            })?;
            let (key, value) = (trimmed[..split].trim(), trimmed[split + 1..].trim());
            if key.is_empty() {
                return Err(IniSyntaxError {
                    line: line_no,
                    message: "empty key",
                });
            }
            let section = current.ok_or(IniSyntaxError {
                line: line_no,
                message: "key before any [section] header",
            })?;
            if let Some(sec) = doc.sections.get_mut(section) {
                sec.entries.push(IniEntry {
                    key: key.to_string(),
                    value: unquote(value).to_string(),
                    line: line_no,
                });
                open_value = Some((section, sec.entries.len() - 1));
            }
        }
        Ok(doc)
    }

    /// The section with this name (normalised like oslo.config).
    pub fn section(&self, name: &str) -> Option<&IniSection> {
        let normalized = normalize_section(name);
        self.sections.iter().find(|s| s.name == normalized)
    }
}

/// One pair of matching surrounding quotes removed.
fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(quote) && value.ends_with(quote) {
            return &value[1..value.len() - 1];
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oslo_sections_keys_comments_and_quotes() {
        let doc = IniDocument::parse(
            "# comment\n; other comment\n[BGP]\nlocal_address = 10.0.0.1\nmy_as: 64512\n\
             name = \"quoted value\"\nx = a # not a comment\n[DEFAULT]\ndebug=True\n[bgp]\npeers=1.1.1.1\n",
        )
        .unwrap();
        let bgp = doc.section("BGP").unwrap();
        assert_eq!(bgp.name, "bgp");
        assert_eq!(bgp.get("local_address").unwrap().value, "10.0.0.1");
        assert_eq!(bgp.get("my_as").unwrap().value, "64512");
        assert_eq!(bgp.get("name").unwrap().value, "quoted value");
        assert_eq!(bgp.get("x").unwrap().value, "a # not a comment");
        assert_eq!(bgp.get("peers").unwrap().line, 11);
        assert_eq!(
            doc.section("DEFAULT").unwrap().get("debug").unwrap().value,
            "True"
        );
        assert!(
            doc.section("default").is_none(),
            "DEFAULT is case-sensitive in oslo"
        );
        assert!(bgp.get("MY_AS").is_none(), "keys are case-sensitive");
    }

    #[test]
    fn continuation_lines_and_last_value_wins() {
        let doc = IniDocument::parse("[a]\nk = one\n  two\nk = three\nl =\n  x\n").unwrap();
        let a = doc.section("a").unwrap();
        assert_eq!(a.get("k").unwrap().value, "three");
        assert_eq!(a.get("l").unwrap().value, "x");
        let doc = IniDocument::parse("[a]\nk = one\n  two\n").unwrap();
        assert_eq!(
            doc.section("a").unwrap().get("k").unwrap().value,
            "one\ntwo"
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        assert_eq!(IniDocument::parse("k = v\n").unwrap_err().line, 1);
        assert_eq!(IniDocument::parse("[a]\n\n[b\n").unwrap_err().line, 3);
        assert_eq!(IniDocument::parse("[a]\njust words\n").unwrap_err().line, 2);
        assert_eq!(IniDocument::parse("[]\n").unwrap_err().line, 1);
        assert_eq!(IniDocument::parse("[a]\n= v\n").unwrap_err().line, 2);
    }
}
