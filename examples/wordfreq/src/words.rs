//! What a word is, how words are counted, and the `counts.tsv` format.
//!
//! A word is a maximal run of alphabetic characters (`char::is_alphabetic`: ASCII and other
//! Unicode letters), lowercased with `str::to_lowercase`. Everything else separates words: an
//! apostrophe makes `don't` the two words `don` and `t`, a hyphen makes `jar-by-jar` three
//! words, and digits are no words at all.

use std::collections::BTreeMap;

/// Word counts, ordered by word.
pub type Counts = BTreeMap<String, u64>;

/// Counts the words of `text`.
pub fn count(text: &str) -> Counts {
    let mut counts = Counts::new();
    let mut word = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_alphabetic() {
            word.push(c);
        } else if !word.is_empty() {
            *counts.entry(word.to_lowercase()).or_default() += 1;
            word.clear();
        }
    }
    counts
}

/// Adds `more` to `into`.
pub fn add(into: &mut Counts, more: Counts) {
    for (word, n) in more {
        *into.entry(word).or_default() += n;
    }
}

/// The words by count, highest first; equal counts by word.
pub fn ranked(counts: &Counts) -> Vec<(&str, u64)> {
    let mut list: Vec<(&str, u64)> = counts.iter().map(|(w, n)| (w.as_str(), *n)).collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    list
}

/// `counts.tsv`: one `word<TAB>count` line per word, in [`ranked`] order.
pub fn to_tsv(counts: &Counts) -> String {
    ranked(counts)
        .into_iter()
        .map(|(w, n)| format!("{w}\t{n}\n"))
        .collect()
}

/// Reads `counts.tsv` back; an error names the bad line.
pub fn from_tsv(text: &str) -> Result<Counts, String> {
    let mut counts = Counts::new();
    for (i, line) in text.lines().enumerate() {
        let parsed = line
            .split_once('\t')
            .and_then(|(w, n)| Some((w, n.parse::<u64>().ok()?)));
        match parsed {
            Some((w, n)) if !w.is_empty() => *counts.entry(w.to_string()).or_default() += n,
            _ => return Err(format!("line {}: not `word<TAB>count`: {line:?}", i + 1)),
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lowercased_runs_of_letters() {
        let c = count("The cat's hat; the CAT sat — jar-by-jar 42 times. Élan, ÉLAN!");
        let got: Vec<(&str, u64)> = c.iter().map(|(w, n)| (w.as_str(), *n)).collect();
        assert_eq!(
            got,
            vec![
                ("by", 1),
                ("cat", 2),
                ("hat", 1),
                ("jar", 2),
                ("s", 1),
                ("sat", 1),
                ("the", 2),
                ("times", 1),
                ("élan", 2),
            ]
        );
        assert!(count(" 12 -- ... ").is_empty());
    }

    #[test]
    fn ranked_by_count_then_word_and_back_from_tsv() {
        let c = count("b a c b a b z");
        assert_eq!(ranked(&c), vec![("b", 3), ("a", 2), ("c", 1), ("z", 1)]);
        let tsv = to_tsv(&c);
        assert_eq!(tsv, "b\t3\na\t2\nc\t1\nz\t1\n");
        assert_eq!(from_tsv(&tsv).unwrap(), c);
        let mut sum = c.clone();
        add(&mut sum, count("z z"));
        assert_eq!(sum["z"], 3);
        assert!(from_tsv("a\t1\nb 2\n").unwrap_err().starts_with("line 2:"));
        assert!(from_tsv("\t2\n").is_err());
    }
}
