//! SQL highlighting for the lineage panel: a model's file, Jinja included, as tokens a
//! UI colours by kind.
//!
//! Jinja (`{{ … }}`, `{% … %}`, `{# … #}` and their `-` trim variants) is split out
//! first; the SQL between is tokenized by sqlparser's tokenizer (the one DataFusion
//! parses with, [`GenericDialect`]). Every token keeps its exact text, so the tokens
//! concatenated give back the input byte for byte; a stretch the tokenizer cannot read
//! (an unterminated string or comment) comes back as one token of the kind it started
//! as, never as an error.

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Location, Token, Tokenizer, Whitespace};
use serde::{Deserialize, Serialize};

/// What a piece of SQL text is, for its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// A reserved word of SQL: `select`, `from`, `case`, `null`, …
    Keyword,
    /// A table, column or function name, quoted or not.
    Identifier,
    /// A string literal, quotes included.
    String,
    /// A number literal.
    Number,
    /// A `--` or `/* */` comment.
    Comment,
    /// An operator: `=`, `<>`, `||`, `::`, `*`, …
    Operator,
    /// Commas, parentheses, brackets, periods and semicolons.
    Punctuation,
    /// A Jinja expression, statement or comment, delimiters included.
    Jinja,
    /// Spaces, tabs and newlines.
    Whitespace,
}

impl TokenKind {
    /// The CSS class a UI styles it with: `sql-keyword`, `sql-jinja`, …
    pub fn css_class(self) -> &'static str {
        match self {
            TokenKind::Keyword => "sql-keyword",
            TokenKind::Identifier => "sql-identifier",
            TokenKind::String => "sql-string",
            TokenKind::Number => "sql-number",
            TokenKind::Comment => "sql-comment",
            TokenKind::Operator => "sql-operator",
            TokenKind::Punctuation => "sql-punctuation",
            TokenKind::Jinja => "sql-jinja",
            TokenKind::Whitespace => "sql-whitespace",
        }
    }
}

/// One highlighted piece of text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqlToken {
    /// What it is.
    pub kind: TokenKind,
    /// Its exact text.
    pub text: String,
}

/// The words highlighted as keywords (sqlparser knows hundreds of keywords, most of
/// which are ordinary column names in a model: `status`, `date`, `name`).
const KEYWORDS: [&str; 79] = [
    "ALL",
    "ANALYZE",
    "AND",
    "ANY",
    "AS",
    "ASC",
    "BETWEEN",
    "BY",
    "CASE",
    "CAST",
    "CREATE",
    "CROSS",
    "CURRENT",
    "DELETE",
    "DESC",
    "DESCRIBE",
    "DISTINCT",
    "ELSE",
    "END",
    "EXCEPT",
    "EXISTS",
    "EXPLAIN",
    "FALSE",
    "FILTER",
    "FIRST",
    "FOLLOWING",
    "FROM",
    "FULL",
    "GROUP",
    "HAVING",
    "HISTORY",
    "ILIKE",
    "IN",
    "INNER",
    "INSERT",
    "INTERSECT",
    "INTERVAL",
    "INTO",
    "IS",
    "JOIN",
    "LAST",
    "LATERAL",
    "LEFT",
    "LIKE",
    "LIMIT",
    "MERGE",
    "NATURAL",
    "NOT",
    "NULL",
    "NULLS",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "OUTER",
    "OVER",
    "PARTITION",
    "PRECEDING",
    "QUALIFY",
    "RANGE",
    "RECURSIVE",
    "RIGHT",
    "ROWS",
    "SELECT",
    "SET",
    "SHOW",
    "TABLE",
    "TABLES",
    "THEN",
    "TRUE",
    "UNBOUNDED",
    "UNION",
    "UPDATE",
    "USING",
    "VALUES",
    "VIEW",
    "WHEN",
    "WHERE",
    "WITH",
];

/// Whether `word`, unquoted, is highlighted as a keyword.
fn is_keyword(word: &str) -> bool {
    KEYWORDS
        .iter()
        .any(|keyword| keyword.eq_ignore_ascii_case(word))
}

/// The kind of one sqlparser token.
fn kind_of(token: &Token) -> TokenKind {
    match token {
        Token::Word(word) if word.quote_style.is_none() && is_keyword(&word.value) => {
            TokenKind::Keyword
        }
        Token::Word(_) | Token::Placeholder(_) => TokenKind::Identifier,
        Token::Number(..) => TokenKind::Number,
        Token::Whitespace(Whitespace::SingleLineComment { .. })
        | Token::Whitespace(Whitespace::MultiLineComment(_)) => TokenKind::Comment,
        Token::Whitespace(_) => TokenKind::Whitespace,
        Token::SingleQuotedString(_)
        | Token::DoubleQuotedString(_)
        | Token::TripleSingleQuotedString(_)
        | Token::TripleDoubleQuotedString(_)
        | Token::DollarQuotedString(_)
        | Token::SingleQuotedByteStringLiteral(_)
        | Token::DoubleQuotedByteStringLiteral(_)
        | Token::TripleSingleQuotedByteStringLiteral(_)
        | Token::TripleDoubleQuotedByteStringLiteral(_)
        | Token::SingleQuotedRawStringLiteral(_)
        | Token::DoubleQuotedRawStringLiteral(_)
        | Token::TripleSingleQuotedRawStringLiteral(_)
        | Token::TripleDoubleQuotedRawStringLiteral(_)
        | Token::NationalStringLiteral(_)
        | Token::QuoteDelimitedStringLiteral(_)
        | Token::NationalQuoteDelimitedStringLiteral(_)
        | Token::EscapedStringLiteral(_)
        | Token::UnicodeStringLiteral(_)
        | Token::HexStringLiteral(_) => TokenKind::String,
        Token::Comma
        | Token::LParen
        | Token::RParen
        | Token::Period
        | Token::SemiColon
        | Token::LBracket
        | Token::RBracket
        | Token::LBrace
        | Token::RBrace => TokenKind::Punctuation,
        _ => TokenKind::Operator,
    }
}

/// The kind of a stretch the tokenizer could not read, from how it starts.
fn unreadable_kind(text: &str) -> TokenKind {
    let trimmed = text.trim_start();
    if trimmed.starts_with("/*") || trimmed.starts_with("--") {
        TokenKind::Comment
    } else if trimmed.starts_with(['\'', '"', '`', '$']) {
        TokenKind::String
    } else {
        TokenKind::Identifier
    }
}

/// Turns the tokenizer's locations (1-based line and column, in characters, a line
/// ending at `\n`) into byte offsets, walking forward through the text.
struct Offsets<'a> {
    text: &'a str,
    byte: usize,
    line: u64,
    column: u64,
}

impl<'a> Offsets<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            byte: 0,
            line: 1,
            column: 1,
        }
    }

    /// The byte offset of `location`, which must not be before the last one asked.
    fn at(&mut self, location: Location) -> usize {
        let target = (location.line, location.column);
        while (self.line, self.column) < target {
            let Some(ch) = self.text[self.byte..].chars().next() else {
                break;
            };
            self.byte += ch.len_utf8();
            if ch == '\n' {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
        }
        self.byte
    }
}

/// Pushes `text` as one token, unless it is empty.
fn push(tokens: &mut Vec<SqlToken>, kind: TokenKind, text: &str) {
    if !text.is_empty() {
        tokens.push(SqlToken {
            kind,
            text: text.to_owned(),
        });
    }
}

/// Tokenizes a stretch of SQL without Jinja.
fn highlight_plain_sql(sql: &str, tokens: &mut Vec<SqlToken>) {
    let dialect = GenericDialect {};
    let mut found = Vec::new();
    let readable = Tokenizer::new(&dialect, sql)
        .with_unescape(false)
        .tokenize_with_location_into_buf(&mut found)
        .is_ok();
    let mut offsets = Offsets::new(sql);
    let starts: Vec<usize> = found
        .iter()
        .map(|token| offsets.at(token.span.start))
        .collect();
    // Where the unreadable rest begins: after the last token read.
    let end = match (readable, found.last()) {
        (true, _) => sql.len(),
        (false, Some(last)) => offsets.at(last.span.end),
        (false, None) => 0,
    };
    for (index, token) in found.iter().enumerate() {
        let start = if index == 0 { 0 } else { starts[index] };
        let stop = starts.get(index + 1).copied().unwrap_or(end).max(start);
        push(tokens, kind_of(&token.token), &sql[start..stop]);
    }
    let rest = &sql[end.min(sql.len())..];
    push(tokens, unreadable_kind(rest), rest);
}

/// The Jinja delimiters: an opening and its closing.
const JINJA: [(&str, &str); 3] = [("{{", "}}"), ("{%", "%}"), ("{#", "#}")];

/// The next Jinja block of `text` at or after `from`: its start and end (an
/// unterminated block runs to the end of the text).
fn next_jinja(text: &str, from: usize) -> Option<(usize, usize)> {
    let start = JINJA
        .iter()
        .filter_map(|(open, _)| text[from..].find(open).map(|at| from + at))
        .min()?;
    let close = JINJA
        .iter()
        .find(|(open, _)| text[start..].starts_with(open))
        .map_or("}}", |(_, close)| close);
    let end = text[start + 2..]
        .find(close)
        .map_or(text.len(), |at| start + 2 + at + close.len());
    Some((start, end))
}

/// `text`, SQL with Jinja, as highlighted tokens whose texts concatenate to `text`.
pub fn highlight_sql(text: &str) -> Vec<SqlToken> {
    let mut tokens = Vec::new();
    let mut at = 0;
    while let Some((start, end)) = next_jinja(text, at) {
        highlight_plain_sql(&text[at..start], &mut tokens);
        push(&mut tokens, TokenKind::Jinja, &text[start..end]);
        at = end;
    }
    highlight_plain_sql(&text[at..], &mut tokens);
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(tokens: &[SqlToken]) -> String {
        tokens.iter().map(|token| token.text.as_str()).collect()
    }

    fn kinds(tokens: &[SqlToken]) -> Vec<(TokenKind, &str)> {
        tokens
            .iter()
            .filter(|token| token.kind != TokenKind::Whitespace)
            .map(|token| (token.kind, token.text.as_str()))
            .collect()
    }

    #[test]
    fn jinja_is_split_out_and_the_sql_between_tokenized() {
        let text = "{{ config(materialized='table') }}\nselect o.id, 'a''b' as s, 1.5 -- note\nfrom {{ ref('orders') }} o\n{%- if is_incremental() -%}\nwhere o.id >= 2 {# later #}\n{% endif %}";
        let tokens = highlight_sql(text);
        assert_eq!(joined(&tokens), text);
        use TokenKind::*;
        assert_eq!(
            kinds(&tokens),
            [
                (Jinja, "{{ config(materialized='table') }}"),
                (Keyword, "select"),
                (Identifier, "o"),
                (Punctuation, "."),
                (Identifier, "id"),
                (Punctuation, ","),
                (String, "'a''b'"),
                (Keyword, "as"),
                (Identifier, "s"),
                (Punctuation, ","),
                (Number, "1.5"),
                (Comment, "-- note\n"),
                (Keyword, "from"),
                (Jinja, "{{ ref('orders') }}"),
                (Identifier, "o"),
                (Jinja, "{%- if is_incremental() -%}"),
                (Keyword, "where"),
                (Identifier, "o"),
                (Punctuation, "."),
                (Identifier, "id"),
                (Operator, ">="),
                (Number, "2"),
                (Jinja, "{# later #}"),
                (Jinja, "{% endif %}"),
            ]
        );
        assert_eq!(TokenKind::Keyword.css_class(), "sql-keyword");
        assert_eq!(
            serde_json::to_value(TokenKind::Punctuation).unwrap(),
            "punctuation"
        );
    }

    #[test]
    fn unreadable_text_comes_back_as_plain_text() {
        for text in [
            "select 'unterminated",
            "select 1 /* open comment",
            "select \"x",
            "{{ unterminated",
            "é = 'ü",
            "",
        ] {
            let tokens = highlight_sql(text);
            assert_eq!(joined(&tokens), text, "{text}");
        }
        let tokens = highlight_sql("select 'unterminated");
        assert_eq!(
            kinds(&tokens),
            [
                (TokenKind::Keyword, "select"),
                (TokenKind::String, "'unterminated")
            ]
        );
        let tokens = highlight_sql("where name = '{{ var('x') }}'");
        assert_eq!(joined(&tokens), "where name = '{{ var('x') }}'");
        assert!(tokens
            .iter()
            .any(|t| t.kind == TokenKind::Jinja && t.text == "{{ var('x') }}"));
    }

    #[test]
    fn multibyte_text_and_crlf_keep_their_bytes() {
        let text = "select 'café' as naïve,\r\n  \"Zürich\" -- ünïcode\r\nfrom t\twhere x <> 'ß'";
        let tokens = highlight_sql(text);
        assert_eq!(joined(&tokens), text);
        assert!(kinds(&tokens).contains(&(TokenKind::String, "'café'")));
        assert!(kinds(&tokens).contains(&(TokenKind::Identifier, "\"Zürich\"")));
        assert!(kinds(&tokens).contains(&(TokenKind::Operator, "<>")));
    }

    #[test]
    fn every_file_of_the_bundled_projects_round_trips() {
        let files = crate::models::BUNDLED
            .iter()
            .chain(crate::silver::BUNDLED.iter());
        for (path, text) in files {
            let tokens = highlight_sql(text);
            assert_eq!(joined(&tokens), *text, "{path}");
            if path.ends_with(".sql") {
                assert!(
                    tokens.iter().any(|t| t.kind == TokenKind::Keyword),
                    "{path}"
                );
            }
        }
    }

    #[test]
    fn the_consoles_statements_and_time_travel_are_highlighted() {
        let tokens =
            highlight_sql("EXPLAIN ANALYZE select 1; describe history gold.dim_customer@v1");
        use TokenKind::*;
        assert_eq!(
            kinds(&tokens),
            [
                (Keyword, "EXPLAIN"),
                (Keyword, "ANALYZE"),
                (Keyword, "select"),
                (Number, "1"),
                (Punctuation, ";"),
                (Keyword, "describe"),
                (Keyword, "history"),
                (Identifier, "gold"),
                (Punctuation, "."),
                (Identifier, "dim_customer@v1"),
            ]
        );
    }
}
