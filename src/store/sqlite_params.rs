//! SQL text as SQLite binds it fastest: `$1, $2, …` in order become anonymous `?`.
//!
//! sqlx binds each parameter of a SQLite statement after asking SQLite its name, and SQLite
//! finds a name by walking the list of every named parameter. A statement of 500 rows of
//! results has 6,000 named parameters, so binding it walked some 18 million list entries;
//! an anonymous `?` has no name to look up. Pure.

use std::borrow::Cow;

/// `text` with its `$n` parameters as `?` when they appear as `$1, $2, …, $k`, each once
/// and in order (so position alone binds them right); otherwise `text` as it is. Quoted
/// strings and identifiers are left alone.
pub(super) fn anonymous(text: &str) -> Cow<'_, str> {
    if !text.contains('$') {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut expected: u64 = 1;
    let mut quote: Option<u8> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'\'' || b == b'"' => quote = Some(b),
            None if b == b'$' => {
                let digits = bytes[i + 1..]
                    .iter()
                    .take_while(|d| d.is_ascii_digit())
                    .count();
                if digits > 0 {
                    let number = &text[i + 1..i + 1 + digits];
                    if number.parse::<u64>().ok() != Some(expected) {
                        return Cow::Borrowed(text);
                    }
                    expected += 1;
                    out.push_str(&text[copied..i]);
                    out.push('?');
                    i += 1 + digits;
                    copied = i;
                    continue;
                }
            }
            None => {}
        }
        i += 1;
    }
    if expected == 1 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_in_order_become_anonymous() {
        assert_eq!(
            anonymous("INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)"
        );
        assert_eq!(anonymous("SELECT $1"), "SELECT ?");
        assert_eq!(anonymous("x = $9 AND y = $10"), "x = $9 AND y = $10");
    }

    #[test]
    fn anything_else_is_left_as_written() {
        for text in [
            "SELECT 1",
            "a = $1 OR b = $1",
            "a = $2 AND b = $1",
            "a = $1 AND b = $3",
        ] {
            assert!(matches!(anonymous(text), Cow::Borrowed(_)), "{text}");
        }
        assert_eq!(
            anonymous("SELECT json_extract(spec, '$.version'), '$2' FROM t WHERE id = $1"),
            "SELECT json_extract(spec, '$.version'), '$2' FROM t WHERE id = ?"
        );
        assert_eq!(
            anonymous(r#"SELECT "$1", 'it''s $5' WHERE a = $1"#),
            r#"SELECT "$1", 'it''s $5' WHERE a = ?"#
        );
    }
}
