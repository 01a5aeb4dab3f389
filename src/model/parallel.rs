//! Pure work spread over the cores. What a fleet of 40,000 zones does zone by zone
//! (checking, hashing, diffing) runs on every core when there is much of it, and on the
//! calling thread when there is little: starting a thread costs more than a few zones.

/// Items a thread takes at least.
pub const ITEMS_PER_THREAD: usize = 256;

/// How many threads `n` items are worth: one per core, each with at least
/// [`ITEMS_PER_THREAD`] items, and at least one.
pub fn threads_for(n: usize) -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .min(n.div_ceil(ITEMS_PER_THREAD))
        .max(1)
}

/// `f` applied to consecutive parts of `items`, one part per thread ([`threads_for`]);
/// the results in the order of the parts. A panic in `f` is raised again here.
pub fn map_parts<T, R, F>(items: &[T], f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&[T]) -> R + Sync,
{
    let threads = threads_for(items.len());
    if threads == 1 {
        return vec![f(items)];
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| f(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// `f` applied to every item, on every core when there are many; in the items' order.
pub fn map<T, R, F>(items: &[T], f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    map_parts(items, |part| part.iter().map(&f).collect::<Vec<R>>())
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_order_of_the_items_however_many_threads() {
        for n in [0, 1, ITEMS_PER_THREAD, 5 * ITEMS_PER_THREAD + 3] {
            let items: Vec<usize> = (0..n).collect();
            let doubled = map(&items, |i| i * 2);
            assert_eq!(doubled, items.iter().map(|i| i * 2).collect::<Vec<_>>());
            let parts = map_parts(&items, |p| p.len());
            assert_eq!(parts.len(), threads_for(n));
            assert_eq!(parts.iter().sum::<usize>(), n);
        }
    }
}
