//! Which resource a method and path name, as BaGPipe-BGP's pecan controllers route them
//! (reference §3.1, `api/controllers.py`): each URL's `index` answers every method that has no
//! handler of its own, so `PATCH /` is `{}` as `GET /` is, and `/ping` answers any method.

use super::response::Response;

/// What to do with a request.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Route {
    /// Answered without the engine.
    Answer(Response),
    /// `/ping`: the process's ping value.
    Ping,
    /// `POST /attach_localport`.
    Attach,
    /// `POST /detach_localport`.
    Detach,
    /// `GET /looking-glass/<path>`.
    LookingGlass(Vec<String>),
}

/// Routes `method` on the request target `target` (origin form `/a/b?q`, or absolute form
/// `http://host/a/b`). Trailing and doubled slashes are ignored, as pecan does.
pub(super) fn route(method: &str, target: &str) -> Route {
    let path = path_of(target);
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    let first = segments.next();
    let rest: Vec<&str> = segments.collect();
    match (first, rest.is_empty()) {
        (None, _) => match method {
            "POST" | "PUT" | "DELETE" => Route::Answer(Response::method_not_allowed("GET, HEAD")),
            _ => Route::Answer(Response::json(serde_json::json!({}))),
        },
        (Some("ping"), true) => Route::Ping,
        (Some(name @ ("attach_localport" | "detach_localport")), true) => match method {
            "PUT" | "DELETE" => Route::Answer(Response::method_not_allowed("GET, HEAD, POST")),
            "POST" if name == "attach_localport" => Route::Attach,
            "POST" => Route::Detach,
            _ => Route::Answer(Response::json(serde_json::json!({}))),
        },
        (Some("looking-glass"), _) => match method {
            "POST" | "PUT" | "DELETE" => Route::Answer(Response::method_not_allowed("GET, HEAD")),
            "GET" | "HEAD" => Route::LookingGlass(rest.iter().map(|s| percent_decode(s)).collect()),
            _ => Route::Answer(Response::json(serde_json::json!({}))),
        },
        _ => Route::Answer(Response::not_found()),
    }
}

/// The path of a request target: the query string and fragment cut, the scheme and authority
/// of an absolute-form target (RFC 9112 §3.2.2) cut.
fn path_of(target: &str) -> &str {
    let path = target.split(['?', '#']).next().unwrap_or("");
    match path.split_once("://") {
        Some((_, after)) if !path.starts_with('/') => match after.find('/') {
            Some(slash) => &after[slash..],
            None => "/",
        },
        _ => path,
    }
}

/// `%XX` decoded (RFC 3986 §2.1); a `%` not followed by two hex digits is kept as is, and
/// bytes that are not UTF-8 become U+FFFD.
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let value = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(value as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status(route: Route) -> Option<u16> {
        match route {
            Route::Answer(r) => Some(r.status),
            _ => None,
        }
    }

    #[test]
    fn s3_1_root() {
        assert_eq!(route("GET", "/"), Route::Answer(Response::json(json!({}))));
        assert_eq!(
            route("PATCH", "/"),
            Route::Answer(Response::json(json!({})))
        );
        for m in ["POST", "PUT", "DELETE"] {
            assert_eq!(status(route(m, "/")), Some(405), "{m}");
        }
    }

    #[test]
    fn s3_1_ping_answers_every_method() {
        for m in ["GET", "POST", "PUT", "DELETE", "HEAD"] {
            assert_eq!(route(m, "/ping"), Route::Ping, "{m}");
        }
        assert_eq!(route("GET", "/ping/"), Route::Ping);
        assert_eq!(status(route("GET", "/ping/x")), Some(404));
    }

    #[test]
    fn s3_1_attach_and_detach() {
        assert_eq!(route("POST", "/attach_localport"), Route::Attach);
        assert_eq!(route("POST", "/detach_localport/"), Route::Detach);
        assert_eq!(
            route("GET", "/attach_localport"),
            Route::Answer(Response::json(json!({})))
        );
        for m in ["PUT", "DELETE"] {
            assert_eq!(status(route(m, "/attach_localport")), Some(405));
            assert_eq!(status(route(m, "/detach_localport")), Some(405));
        }
        assert_eq!(status(route("POST", "/attach_localport/x")), Some(404));
    }

    #[test]
    fn s4_1_looking_glass_path() {
        assert_eq!(route("GET", "/looking-glass"), Route::LookingGlass(vec![]));
        assert_eq!(
            route("GET", "/looking-glass//vpns/instances/?x=1"),
            Route::LookingGlass(vec!["vpns".into(), "instances".into()])
        );
        assert_eq!(
            route("GET", "/looking-glass/vpns/instances/a%20b%2Fc%zz"),
            Route::LookingGlass(vec!["vpns".into(), "instances".into(), "a b/c%zz".into()])
        );
        assert_eq!(
            route("GET", "http://127.0.0.1:8082/looking-glass/summary"),
            Route::LookingGlass(vec!["summary".into()])
        );
        for m in ["POST", "PUT", "DELETE"] {
            assert_eq!(status(route(m, "/looking-glass/summary")), Some(405));
        }
    }

    #[test]
    fn unknown_paths_are_404() {
        for target in ["/nope", "/attach", "/looking-glassx", "*", "/Ping"] {
            assert_eq!(status(route("GET", target)), Some(404), "{target}");
        }
    }
}
