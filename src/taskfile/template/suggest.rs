//! "Did you mean" suggestions for misspelled function names.

/// Levenshtein distance over characters, giving up (returning `limit + 1`) past `limit`.
fn distance(a: &str, b: &str, limit: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > limit {
        return limit + 1;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        let mut row_min = cur[0];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
            row_min = row_min.min(cur[j + 1]);
        }
        if row_min > limit {
            return limit + 1;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `name` within edit distance 2 (less for very short names, so
/// `x` does not suggest `eq`), ignoring case first so that `toJSON` finds `toJson`; ties go
/// to the exact-case distance, then alphabetical order.
pub(super) fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let len = name.chars().count();
    if len > 64 {
        return None;
    }
    let limit = (len / 2).min(2);
    let lower = name.to_lowercase();
    let mut best: Option<((usize, usize), &'a str)> = None;
    for cand in candidates {
        let folded = distance(&lower, &cand.to_lowercase(), limit);
        if folded > limit {
            continue;
        }
        let key = (folded, distance(name, cand, 64));
        if best.is_none_or(|(k, c)| key < k || (key == k && cand < c)) {
            best = Some((key, cand));
        }
    }
    best.map(|(_, c)| c)
}
