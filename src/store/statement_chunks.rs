//! The sizes multi-row statements are cut into, so that each statement has a few texts and
//! the connection's statement cache keeps a few programs, not one per batch size.

/// `items` cut, in order, into statements of `most` rows (a power of two) and a rest cut
/// into powers of two (700 rows at 512: 512, 128, 32, 16, 8, 4), so that a multi-row
/// statement has a few texts only. Each text is a program the database prepares and the
/// connection's statement cache keeps: a statement the size of each batch made a new one
/// almost every second, and at 100,000 checks the cached programs came to tens of MB.
pub(super) fn statement_chunks<T>(items: &[T], most: usize) -> impl Iterator<Item = &[T]> {
    debug_assert!(most.is_power_of_two());
    let mut rest = items;
    std::iter::from_fn(move || {
        let size = rest.len().min(most);
        if size == 0 {
            return None;
        }
        let (chunk, after) = rest.split_at(1 << size.ilog2());
        rest = after;
        Some(chunk)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_take_whole_runs_then_powers_of_two_in_order() {
        let sizes = |n: usize| -> Vec<usize> {
            let items: Vec<usize> = (0..n).collect();
            let chunks: Vec<&[usize]> = statement_chunks(&items, 512).collect();
            assert_eq!(chunks.concat(), items, "every item once, in order");
            chunks.iter().map(|c| c.len()).collect()
        };
        assert_eq!(sizes(0), Vec::<usize>::new());
        assert_eq!(sizes(1), vec![1]);
        assert_eq!(sizes(700), vec![512, 128, 32, 16, 8, 4]);
        assert_eq!(sizes(1_537), vec![512, 512, 512, 1]);
        let mut texts = std::collections::HashSet::new();
        for n in 0..=2_000 {
            texts.extend(sizes(n));
        }
        assert_eq!(texts.len(), 10, "row counts in use: {texts:?}");
    }
}
