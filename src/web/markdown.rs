//! The small Markdown subset of status updates, rendered escaped: paragraphs (a blank line
//! between), line breaks, `- ` or `* ` lists, `**bold**`, `*italic*`, `` `code` `` and
//! `[text](https://…)` links (http and https only, `rel="nofollow noopener"`). Every other
//! character, `<` and `&` included, is text; nothing the writer types becomes markup of
//! its own.

use maud::{Markup, html};

/// How deep bold and italic may nest before the rest reads as text.
const MAX_NESTING: usize = 3;

/// A message as HTML.
pub fn render(text: &str) -> Markup {
    let mut blocks: Vec<Vec<&str>> = Vec::new();
    let mut block: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !block.is_empty() {
                blocks.push(std::mem::take(&mut block));
            }
        } else {
            block.push(line);
        }
    }
    if !block.is_empty() {
        blocks.push(block);
    }
    html! {
        @for block in &blocks {
            @if block.iter().all(|l| item(l).is_some()) {
                ul { @for line in block { li { (inline(item(line).unwrap_or(line), 0)) } } }
            } @else {
                p {
                    @for (i, line) in block.iter().enumerate() {
                        @if i > 0 { br; }
                        (inline(line, 0))
                    }
                }
            }
        }
    }
}

/// A list item's text, if the line is one.
fn item(line: &str) -> Option<&str> {
    let line = line.trim_start();
    line.strip_prefix("- ").or_else(|| line.strip_prefix("* "))
}

/// One piece of a line.
enum Span<'a> {
    Text(&'a str),
    Code(&'a str),
    Strong(&'a str),
    Em(&'a str),
    Link { text: &'a str, url: &'a str },
}

/// The next marked span at the start of `rest` and how many bytes it takes.
fn marked(rest: &str) -> Option<(Span<'_>, usize)> {
    let closed = |open: &str, close: &str| -> Option<(&str, usize)> {
        let body = rest.strip_prefix(open)?;
        let end = body.find(close)?;
        (end > 0).then(|| (&body[..end], open.len() + end + close.len()))
    };
    if let Some((code, taken)) = closed("`", "`") {
        return Some((Span::Code(code), taken));
    }
    if let Some((inner, taken)) = closed("**", "**") {
        return Some((Span::Strong(inner), taken));
    }
    if let Some((inner, taken)) = closed("*", "*")
        && !inner.starts_with(' ')
    {
        return Some((Span::Em(inner), taken));
    }
    let (text, after) = closed("[", "](")?;
    let tail = &rest[after..];
    let end = tail.find(')')?;
    let url = &tail[..end];
    let linkable = (url.starts_with("https://") || url.starts_with("http://"))
        && !url.chars().any(|c| c.is_whitespace() || c == '"');
    linkable.then(|| (Span::Link { text, url }, after + end + 1))
}

/// A line's spans: marked ones where they close, text between.
fn spans(line: &str) -> Vec<Span<'_>> {
    let mut out = Vec::new();
    let mut text_from = 0;
    let mut at = 0;
    while at < line.len() {
        let rest = &line[at..];
        if rest.starts_with(['`', '*', '['])
            && let Some((span, taken)) = marked(rest)
        {
            if text_from < at {
                out.push(Span::Text(&line[text_from..at]));
            }
            out.push(span);
            at += taken;
            text_from = at;
            continue;
        }
        at += rest.chars().next().map_or(1, char::len_utf8);
    }
    if text_from < line.len() {
        out.push(Span::Text(&line[text_from..]));
    }
    out
}

fn inline(line: &str, depth: usize) -> Markup {
    if depth > MAX_NESTING {
        return html! { (line) };
    }
    html! {
        @for span in spans(line) {
            @match span {
                Span::Text(t) => (t),
                Span::Code(c) => code { (c) },
                Span::Strong(s) => strong { (inline(s, depth + 1)) },
                Span::Em(e) => em { (inline(e, depth + 1)) },
                Span::Link { text, url } => a href=(url) rel="nofollow noopener" { (inline(text, depth + 1)) },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html_of(text: &str) -> String {
        render(text).into_string()
    }

    #[test]
    fn the_subset_renders_and_everything_else_is_text() {
        assert_eq!(
            html_of(
                "**Identified**: the *primary* DB at `db-1`.\nSee [the log](https://example.com/log?a=1&b=2)."
            ),
            "<p><strong>Identified</strong>: the <em>primary</em> DB at <code>db-1</code>.<br>\
             See <a href=\"https://example.com/log?a=1&amp;b=2\" rel=\"nofollow noopener\">the log</a>.</p>"
        );
        assert_eq!(
            html_of("Steps:\n\n- restart the pool\n* clear the cache"),
            "<p>Steps:</p><ul><li>restart the pool</li><li>clear the cache</li></ul>"
        );
        assert_eq!(
            html_of("<script>alert(1)</script> & <b>x</b>"),
            "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;x&lt;/b&gt;</p>"
        );
        // Only http and https links; a quote cannot leave the attribute.
        assert_eq!(
            html_of("[x](javascript:alert(1)) [y](https://a\"onmouseover=\"b)"),
            "<p>[x](javascript:alert(1)) [y](https://a&quot;onmouseover=&quot;b)</p>"
        );
        // Unclosed marks, a lone star and snake_case stay as written.
        assert_eq!(
            html_of("2 * 3 = 6, **unclosed, `tick, my_var_name"),
            "<p>2 * 3 = 6, **unclosed, `tick, my_var_name</p>"
        );
        assert_eq!(html_of("`<b>`"), "<p><code>&lt;b&gt;</code></p>");
    }

    #[test]
    fn nesting_is_bounded() {
        assert_eq!(
            html_of("**a *b* c**"),
            "<p><strong>a <em>b</em> c</strong></p>"
        );
        assert_eq!(
            inline("**a**", MAX_NESTING).into_string(),
            "<strong>a</strong>"
        );
        assert_eq!(inline("**a**", MAX_NESTING + 1).into_string(), "**a**");
    }
}
