//! Progress on the terminal: one bar per file and one for the whole run, with speed and ETA
//! (nothing is drawn when the output is not a terminal, or with `-q`).

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::watch;

const FILE_TEMPLATE: &str = "{msg:30!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}";
const TOTAL_TEMPLATE: &str = "{msg:30!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}";

pub struct Progress {
    bars: MultiProgress,
    total: ProgressBar,
}

impl Progress {
    /// Progress of `total` bytes (hidden if `quiet`).
    pub fn new(quiet: bool, total: u64) -> Self {
        let bars = MultiProgress::new();
        if quiet {
            bars.set_draw_target(ProgressDrawTarget::hidden());
        }
        let total = bars.add(styled(ProgressBar::new(total), TOTAL_TEMPLATE).with_message("total"));
        Self { bars, total }
    }

    /// Grows the whole run's size (a file announced only as it comes).
    pub fn add_total(&self, bytes: u64) {
        self.total.inc_length(bytes);
    }

    /// A bar for file `name` of `size` bytes: the sender to report bytes done to, and the task
    /// drawing it, which ends when the sender is dropped.
    pub fn file(&self, name: &str, size: u64) -> (watch::Sender<u64>, tokio::task::JoinHandle<()>) {
        let bar = self.bars.insert_before(&self.total, styled(ProgressBar::new(size), FILE_TEMPLATE));
        bar.set_message(name.to_owned());
        let total = self.total.clone();
        let (sender, mut done) = watch::channel(0u64);
        let task = tokio::spawn(async move {
            let mut shown = 0;
            while done.changed().await.is_ok() {
                let now = *done.borrow();
                total.inc(now.saturating_sub(shown));
                shown = shown.max(now);
                bar.set_position(now);
            }
            bar.finish();
        });
        (sender, task)
    }

    /// Prints a line above the bars (on standard output when none are drawn).
    pub fn println(&self, line: &str) {
        if self.bars.is_hidden() {
            println!("{line}");
        } else {
            self.bars.println(line).ok();
        }
    }

    /// The run is over.
    pub fn finish(&self) {
        self.total.finish();
    }
}

fn styled(bar: ProgressBar, template: &str) -> ProgressBar {
    bar.with_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()).progress_chars("=> "),
    )
}
