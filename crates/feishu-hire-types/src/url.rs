//! Percent-encoding of path parameters and query strings, as generated requests use it.
//!
//! A path parameter fills exactly one segment: everything but RFC 3986's unreserved characters
//! is encoded, so an id with `/`, `?`, `#`, `%` or non-ASCII characters cannot change the
//! path. Query strings are `application/x-www-form-urlencoded`, as Feishu's SDKs send them.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but `A-Z a-z 0-9 - . _ ~`.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Appends `value` to `path` as one percent-encoded segment.
///
/// `.`, `..` and an empty value cannot be a segment whatever the encoding (URL parsers resolve
/// `%2E` as `.`); [`Endpoint::path_problem`](crate::Endpoint::path_problem) finds them so that
/// clients refuse to send such a request.
///
/// ```
/// let mut path = String::from("/open-apis/hire/v1/external_interviews/");
/// feishu_hire_types::url::push_segment(&mut path, "a/b?c");
/// assert_eq!(path, "/open-apis/hire/v1/external_interviews/a%2Fb%3Fc");
/// ```
pub fn push_segment(path: &mut String, value: &str) {
    // `.` and `..` are unreserved; encoded, they at least never read as dot segments to a
    // server that does not decode before resolving. `Endpoint::path_problem` refuses them.
    match value {
        "." => path.push_str("%2E"),
        ".." => path.push_str("%2E%2E"),
        _ => path.extend(utf8_percent_encode(value, SEGMENT)),
    }
}

/// Encodes query pairs as `a=1&b=x+y` (empty for no pairs), without the leading `?`.
///
/// ```
/// let query = feishu_hire_types::url::encode_query(&[("page_size", "10".into()), ("q", "a b&c".into())]);
/// assert_eq!(query, "page_size=10&q=a+b%26c");
/// ```
pub fn encode_query(pairs: &[(&str, String)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_never_escapes_its_place() {
        for (value, encoded) in [
            ("6960663240925956437", "6960663240925956437"),
            ("a/b", "a%2Fb"),
            ("x?y#z", "x%3Fy%23z"),
            ("100%", "100%25"),
            ("面试", "%E9%9D%A2%E8%AF%95"),
            ("..", "%2E%2E"),
            (".", "%2E"),
            ("", ""),
        ] {
            let mut path = String::new();
            push_segment(&mut path, value);
            assert_eq!(path, encoded, "{value:?}");
        }
    }
}
