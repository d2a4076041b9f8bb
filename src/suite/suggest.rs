//! "Did you mean": the closest known name to a misspelt one.

/// The closest candidate by edit distance, when it is close enough to be a typo.
pub fn suggest<'a>(bad: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (bad.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (levenshtein(&bad.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// A hint for a name that is not known: the closest one, else the list of
/// known names when it is short.
pub fn did_you_mean<'a>(bad: &str, names: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let names: Vec<&str> = names.into_iter().collect();
    match suggest(bad, names.iter().copied()) {
        Some(s) => Some(format!("did you mean `{s}`?")),
        None if names.is_empty() => None,
        None if names.len() <= 12 => Some(format!("known: {}", names.join(", "))),
        None => None,
    }
}

pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(
            suggest("adress", ["roles", "address", "port"]),
            Some("address")
        );
        assert_eq!(suggest("zzzzzz", ["roles", "address"]), None);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }
}
