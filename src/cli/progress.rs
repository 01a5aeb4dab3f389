//! Showing how far a long apply is, on stderr (stdout, and so `--format json`, never has
//! any of it): on a terminal, indicatif progress bars (zones created, updated, verified
//! and deleted, operation steps; counts, totals and elapsed time); elsewhere (a pipe, a
//! file, a journal) a plain line every interval, "updated 412/1000 zones, verified
//! 300/1000, 6 s", and nothing at all for work that ends within the first interval.
//!
//! The interval is 5 s; `ZONEKEEPER_PROGRESS_INTERVAL_MS` sets another (tests use a short
//! one). The driver only counts ([`crate::progress::Meter`]); this reads the counts.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::oneshot;

use crate::progress::{Count, Meter, Snapshot};

/// The environment variable that sets the interval of progress lines, in milliseconds.
pub const INTERVAL_ENV: &str = "ZONEKEEPER_PROGRESS_INTERVAL_MS";

/// The interval of progress lines off a terminal.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// How often bars on a terminal are redrawn.
const TICK: Duration = Duration::from_millis(100);

/// The interval of progress lines: [`INTERVAL_ENV`] when set to a number, else 5 s.
pub fn interval() -> Duration {
    std::env::var(INTERVAL_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map_or(DEFAULT_INTERVAL, Duration::from_millis)
}

/// A progress display running beside an apply; [`Shown::finish`] ends it.
pub struct Shown {
    done: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Shown {
    /// Shows `meter` on stderr until [`Shown::finish`]: bars on a terminal, lines elsewhere.
    pub fn start(meter: Meter) -> Shown {
        let (done, stop) = oneshot::channel();
        let task = if std::io::stderr().is_terminal() {
            tokio::spawn(bars(meter, stop))
        } else {
            tokio::spawn(lines(meter, interval(), stop))
        };
        Shown { done, task }
    }

    /// Ends the display (bars are cleared: the apply's report follows).
    pub async fn finish(self) {
        let _ = self.done.send(());
        let _ = self.task.await;
    }
}

/// A line every `every` while there is something to count.
async fn lines(meter: Meter, every: Duration, mut stop: oneshot::Receiver<()>) {
    let start = Instant::now();
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = &mut stop => return,
        }
        let now = meter.snapshot();
        if !now.is_empty() {
            eprintln!("{}", now.line(start.elapsed()));
        }
    }
}

/// indicatif bars, one per count with something to do, redrawn every [`TICK`].
async fn bars(meter: Meter, mut stop: oneshot::Receiver<()>) {
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{prefix:>15} [{bar:30.cyan/blue}] {pos}/{len} {elapsed_precise}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    let mut shown: Vec<(Count, ProgressBar)> = Vec::new();
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = &mut stop => break,
        }
        draw(&multi, &style, &mut shown, meter.snapshot());
    }
    for (_, bar) in &shown {
        bar.finish_and_clear();
    }
    let _ = multi.clear();
}

/// Brings the bars in line with `now`: a bar for each count that has a total.
fn draw(
    multi: &MultiProgress,
    style: &ProgressStyle,
    shown: &mut Vec<(Count, ProgressBar)>,
    now: Snapshot,
) {
    for count in Count::ALL {
        let (done, total) = now.get(count);
        if total == 0 {
            continue;
        }
        let bar = match shown.iter().find(|(c, _)| *c == count) {
            Some((_, bar)) => bar.clone(),
            None => {
                let bar = multi.add(ProgressBar::new(total));
                bar.set_style(style.clone());
                bar.set_prefix(count.word());
                shown.push((count, bar.clone()));
                bar
            }
        };
        bar.set_length(total);
        bar.set_position(done);
    }
}
