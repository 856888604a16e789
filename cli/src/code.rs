//! Join codes: 6 characters the chat example also uses, from an alphabet without look-alikes.

use rendez_core::random::Random;

const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const LEN: usize = 6;

/// A fresh random code.
pub fn new_code() -> String {
    let mut bytes = [0; LEN];
    Random::os().fill(&mut bytes);
    bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
}

/// The code typed by a user (any case, spaces and dashes ignored), if it is one.
pub fn parse_code(typed: &str) -> Option<String> {
    let code: String = typed.chars().filter(|c| !matches!(c, ' ' | '-')).map(|c| c.to_ascii_uppercase()).collect();
    (code.len() == LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_back_in_any_case_and_spacing() {
        let code = new_code();
        assert_eq!(parse_code(&code.to_lowercase()), Some(code.clone()));
        assert_eq!(parse_code(&format!("{}-{}", &code[..3], &code[3..])), Some(code));
    }

    #[test]
    fn look_alikes_and_wrong_lengths_are_not_codes() {
        assert_eq!(parse_code("ABC10O"), None);
        assert_eq!(parse_code("ABCDE"), None);
        assert_eq!(parse_code("ABCDEFG"), None);
    }
}
