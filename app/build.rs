//! Renders docs/CONCEPTS.md to HTML at build time, one entry per heading (its GitHub
//! anchor, its title, and the HTML of the heading and everything up to the next heading
//! of the same or a higher level), so the page's help carries no Markdown parser.

use std::fmt::Write as _;
use std::path::Path;

use pulldown_cmark::{html, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// GitHub's anchor for a heading: lowercase, punctuation dropped, spaces as hyphens.
fn anchor(title: &str) -> String {
    title
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// External links open beside the app; the rest stay in the help.
fn html_of(markdown: &str, options: Options) -> String {
    let mut out = String::new();
    html::push_html(&mut out, Parser::new_ext(markdown, options));
    out.replace(
        "<a href=\"http",
        "<a target=\"_blank\" rel=\"noopener\" href=\"http",
    )
}

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let source = Path::new(&manifest).join("../docs/CONCEPTS.md");
    println!("cargo:rerun-if-changed={}", source.display());
    let markdown = std::fs::read_to_string(&source).expect("docs/CONCEPTS.md is readable");
    let options = Options::ENABLE_TABLES;

    // Every heading: level, title text, where it starts.
    let mut headings: Vec<(HeadingLevel, String, usize)> = Vec::new();
    let mut open: Option<(HeadingLevel, String, usize)> = None;
    for (event, range) in Parser::new_ext(&markdown, options).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                open = Some((level, String::new(), range.start))
            }
            Event::Text(text) | Event::Code(text) => {
                if let Some((_, title, _)) = open.as_mut() {
                    title.push_str(&text);
                }
            }
            Event::End(TagEnd::Heading(_)) => headings.extend(open.take()),
            _ => {}
        }
    }

    let mut generated = String::from(
        "/// Every heading of docs/CONCEPTS.md: anchor, title, and its section as HTML.\n\
         pub static SECTIONS: &[(&str, &str, &str)] = &[\n",
    );
    for (index, (level, title, start)) in headings.iter().enumerate() {
        let end = headings[index + 1..]
            .iter()
            .find(|(next, _, _)| next <= level)
            .map_or(markdown.len(), |(_, _, next_start)| *next_start);
        let section = html_of(&markdown[*start..end], options);
        writeln!(
            generated,
            "    ({:?}, {:?}, {:?}),",
            anchor(title),
            title,
            section
        )
        .expect("writing to a String");
    }
    generated.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("concepts.rs");
    std::fs::write(out, generated).expect("OUT_DIR is writable");
}
