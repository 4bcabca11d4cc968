//! Product descriptions are written in Markdown by staff and rendered on the server.
//!
//! Rendering is also sanitising: raw HTML in the source is dropped and only http(s), mailto and
//! relative links survive, so a description can never inject script into the storefront.

use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag};

pub fn render_markdown(source: &str) -> String {
    let parser = Parser::new_ext(
        source,
        Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES,
    )
    .filter_map(|event| match event {
        Event::Html(_) | Event::InlineHtml(_) => None,
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Some(Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        })),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Some(Event::Start(Tag::Image {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        })),
        other => Some(other),
    });
    let mut out = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut out, parser);
    out
}

fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    let lower = url.trim().to_ascii_lowercase();
    let has_scheme = lower
        .split(['/', '?', '#'])
        .next()
        .is_some_and(|head| head.contains(':'));
    let allowed = !has_scheme
        || lower.starts_with("https:")
        || lower.starts_with("http:")
        || lower.starts_with("mailto:");
    if allowed {
        url
    } else {
        CowStr::Borrowed("#")
    }
}

#[cfg(test)]
mod tests {
    use super::render_markdown;

    #[test]
    fn renders_emphasis_and_paragraphs() {
        assert_eq!(
            render_markdown("Soft.\n\n**Care:** wash cold."),
            "<p>Soft.</p>\n<p><strong>Care:</strong> wash cold.</p>\n"
        );
    }

    #[test]
    fn raw_html_and_script_links_are_removed() {
        let html = render_markdown(
            "<script>alert(1)</script>\n\nHi <img src=x onerror=alert(1)> [x](javascript:alert(1))",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains(r##"<a href="#">x</a>"##), "{html}");
    }

    #[test]
    fn ordinary_links_survive() {
        let html =
            render_markdown("[size guide](/pages/sizes) and [mail](mailto:help@example.com)");
        assert!(html.contains(r#"href="/pages/sizes""#));
        assert!(html.contains(r#"href="mailto:help@example.com""#));
    }
}
