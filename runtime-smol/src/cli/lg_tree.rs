//! The looking glass as an indented tree, character for character as BaGPipe-BGP's
//! `bagpipe-looking-glass` prints it (reference §4.1–4.3):
//!
//! ```text
//! summary:
//!   BGP_established_peers: 1
//!   warnings_and_errors: 0
//! config:  (...)
//! vpns:  (...)
//! ```
//!
//! - `key: value`, nested objects one indentation step (2 spaces) further;
//! - list items on lines of their own starting with `* `; an item that is an object starts on the
//!   same line as its `* `;
//! - an object with an `href` is a link: `(...)` after its `id` if it has one, then its other
//!   members; with recursion, a link below the current URL is fetched and its content printed in
//!   its place;
//! - `-` for an empty object or list; scalars as Python prints them (`None`, `True`, `False`);
//!   a multi-line string starts on a line of its own, each line indented.

use super::ordered_json::Json;
use std::fmt;

/// Indentation added at each level.
pub const INDENT_INCREMENT: usize = 2;

/// Why a link could not be followed during recursion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The server answered with this status.
    Status(u16),
    /// No usable answer (connection, not JSON).
    Failed(String),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Status(code) => write!(f, "ERROR {code}"),
            FetchError::Failed(reason) => write!(f, "ERROR: {reason}"),
        }
    }
}

/// Prints `data`, fetched from `url`, as a tree. With `recurse`, links (`href`) that start with
/// the URL of the object that holds them are fetched with `fetch` and printed in place; a link
/// that cannot be fetched shows ` (ERROR <status>)`.
pub fn render(
    data: &Json,
    url: &str,
    recurse: bool,
    fetch: &mut dyn FnMut(&str) -> Result<Json, FetchError>,
) -> String {
    let mut printer = Printer {
        out: String::new(),
        recurse,
        fetch,
    };
    printer.print(data, 0, url, true);
    printer.out
}

struct Printer<'a> {
    out: String,
    recurse: bool,
    fetch: &'a mut dyn FnMut(&str) -> Result<Json, FetchError>,
}

impl Printer<'_> {
    /// Prints `data` after its key (already written), ending at the start of a line.
    /// `already_anew_line`: the cursor is where the first line of `data` goes (after `* ` or at
    /// the top), so no line break comes first.
    fn print(&mut self, data: &Json, indent: usize, url: &str, already_anew_line: bool) {
        match data {
            Json::Object(members) => self.print_object(members, indent, url, already_anew_line),
            Json::Array(items) => self.print_list(items, indent, url, already_anew_line),
            scalar => {
                let mut text = scalar.python_str();
                if matches!(scalar, Json::String(s) if s.contains('\n')) {
                    text = text
                        .trim_matches('\n')
                        .replace('\n', &format!("\n{}", spaces(indent)));
                    self.out.push('\n');
                    self.out.push_str(&spaces(indent));
                }
                self.out.push_str(&text);
                self.out.push('\n');
            }
        }
    }

    fn print_object(
        &mut self,
        members: &[(String, Json)],
        indent: usize,
        url: &str,
        mut already_anew_line: bool,
    ) {
        let href = members.iter().find(|(k, _)| k == "href").map(|(_, v)| v);
        let id = members.iter().find(|(k, _)| k == "id").map(|(_, v)| v);
        let shows_id = href.is_some() && id.is_some();
        if let (true, Some(id)) = (shows_id, id) {
            self.out.push_str(&id.python_str());
        }
        if let Some(href) = href {
            if let (true, Some(target)) = (self.recurse, href.as_str()) {
                if target.starts_with(url) {
                    match (self.fetch)(target) {
                        Ok(content) => {
                            self.print(&content, indent + INDENT_INCREMENT, target, false);
                        }
                        Err(error) => {
                            self.out.push_str(&format!(" ({error})\n"));
                        }
                    }
                    return;
                }
            }
            self.out.push_str(" (...)");
            already_anew_line = false;
        }
        let rest: Vec<&(String, Json)> = members
            .iter()
            .filter(|(k, _)| !(k == "href" || (shows_id && k == "id")))
            .collect();
        if rest.is_empty() {
            self.out.push_str(if href.is_some() { "\n" } else { "-\n" });
            return;
        }
        if !already_anew_line {
            self.out.push('\n');
        }
        for (i, (key, value)) in rest.into_iter().enumerate() {
            if i > 0 || !already_anew_line {
                self.out.push_str(&spaces(indent));
            }
            self.out.push_str(key);
            self.out.push_str(": ");
            self.print(value, indent + INDENT_INCREMENT, url, false);
        }
    }

    fn print_list(&mut self, items: &[Json], indent: usize, url: &str, already_anew_line: bool) {
        if items.is_empty() {
            self.out.push_str("-\n");
            return;
        }
        if !already_anew_line {
            self.out.push('\n');
        }
        for item in items {
            self.out.push_str(&spaces(indent));
            self.out.push_str("* ");
            match item {
                Json::Object(_) | Json::Array(_) => {
                    self.print(item, indent + INDENT_INCREMENT, url, true)
                }
                scalar => {
                    self.out.push_str(&scalar.python_str());
                    self.out.push('\n');
                }
            }
        }
    }
}

fn spaces(n: usize) -> String {
    " ".repeat(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_fetch(_: &str) -> Result<Json, FetchError> {
        Err(FetchError::Status(500))
    }

    fn tree(text: &str) -> String {
        render(
            &Json::parse(text.as_bytes()).unwrap(),
            "http://h:1/looking-glass/",
            false,
            &mut no_fetch,
        )
    }

    #[test]
    fn object_with_href_and_id_in_a_list() {
        let out = tree(
            r#"[{"id": "ipvpn-1", "name": "VRF-1", "href": "http://h:1/x"}, {"id": "b", "href": "u"}]"#,
        );
        assert_eq!(out, "* ipvpn-1 (...)\n  name: VRF-1\n* b (...)\n");
    }

    #[test]
    fn link_without_id_gets_two_spaces() {
        assert_eq!(tree(r#"{"config": {"href": "u"}}"#), "config:  (...)\n");
    }

    #[test]
    fn empty_values_and_python_scalars() {
        let out = tree(r#"{"a": {}, "b": [], "c": null, "d": true, "e": [[1, 2]]}"#);
        assert_eq!(
            out,
            "a: -\nb: -\nc: None\nd: True\ne: \n  *     * 1\n    * 2\n"
        );
    }

    #[test]
    fn nested_objects_in_list_items() {
        let out = tree(r#"[{"a": 1, "b": {"c": 2, "d": 3}}]"#);
        assert_eq!(out, "* a: 1\n  b: \n    c: 2\n    d: 3\n");
    }

    #[test]
    fn multiline_string() {
        assert_eq!(tree(r#"{"k": "l1\nl2\n"}"#), "k: \n  l1\n  l2\n");
    }

    #[test]
    fn recursion_follows_links_below_the_url_only() {
        let data = Json::parse(br#"{"in": {"href": "http://h:1/lg/a"}, "out": {"href": "http://other/b"}, "bad": {"id": "x", "href": "http://h:1/lg/c"}}"#).unwrap();
        let mut fetch = |url: &str| match url {
            "http://h:1/lg/a" => Ok(Json::parse(br#"{"k": "v"}"#).unwrap()),
            _ => Err(FetchError::Status(404)),
        };
        let out = render(&data, "http://h:1/lg/", true, &mut fetch);
        assert_eq!(out, "in: \n    k: v\nout:  (...)\nbad: x (ERROR 404)\n");
    }
}
