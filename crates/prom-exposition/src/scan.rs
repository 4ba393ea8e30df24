//! Tokens of a line: names, blanks, words. Byte classes are looked up in
//! a table rather than compared, since these loops run over every byte of
//! the input.

const LABEL_START: u8 = 1;
const LABEL_CHAR: u8 = 2;
const COLON: u8 = 4;
const BLANK: u8 = 8;

static CLASS: [u8; 256] = classes();

const fn classes() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = if c.is_ascii_alphabetic() || c == b'_' {
            LABEL_START | LABEL_CHAR
        } else if c.is_ascii_digit() {
            LABEL_CHAR
        } else if c == b':' {
            COLON
        } else if c == b' ' || c == b'\t' {
            BLANK
        } else {
            0
        };
        b += 1;
    }
    table
}

fn class(b: u8) -> u8 {
    CLASS[usize::from(b)]
}

/// Splits off the longest prefix whose first byte is in `first` and the
/// rest in `then`.
fn take(text: &str, first: u8, then: u8) -> (&str, &str) {
    let bytes = text.as_bytes();
    if bytes.first().is_none_or(|&b| class(b) & first == 0) {
        return ("", text);
    }
    let len = bytes
        .iter()
        .position(|&b| class(b) & then == 0)
        .unwrap_or(bytes.len());
    text.split_at(len)
}

pub(super) fn metric_name(text: &str) -> (&str, &str) {
    take(text, LABEL_START | COLON, LABEL_CHAR | COLON)
}

pub(super) fn label_name(text: &str) -> (&str, &str) {
    take(text, LABEL_START, LABEL_CHAR)
}

pub(super) fn is_blank(b: u8) -> bool {
    class(b) & BLANK != 0
}

pub(super) fn starts_blank(text: &str) -> bool {
    text.as_bytes().first().is_some_and(|&b| is_blank(b))
}

pub(super) fn blanks_at(text: &str, pos: usize) -> usize {
    text.as_bytes()[pos..]
        .iter()
        .take_while(|&&b| is_blank(b))
        .count()
}

pub(super) fn skip_blanks(text: &str) -> &str {
    &text[blanks_at(text, 0)..]
}

/// Splits at the first blank: `(token, rest starting with the blank)`.
pub(super) fn token(text: &str) -> (&str, &str) {
    let len = text.bytes().position(is_blank).unwrap_or(text.len());
    text.split_at(len)
}

pub(super) fn first_char(text: &str) -> char {
    text.chars().next().unwrap_or(' ')
}
