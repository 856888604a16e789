//! `rendez`: send files between terminals and browsers through serverless rooms.
//!
//! `rendez send PATH…` prints a join code and a link to the chat example in the same room;
//! `rendez recv CODE` on another machine (or the chat example in a browser) receives the files,
//! streamed and SHA-256 verified. Rooms are the chat example's: app `rendez-chat-example`, the
//! code as the room id, files on its stream action `files` with `{name, size}` metadata.

mod code;
mod exit;
mod file_list;
mod progress;
mod recv;
mod send;

use clap::{Args, Parser, Subcommand, ValueEnum};
use exit::Failure;
use rendez_native::{JoinConfig, StrategyKind};
use std::path::PathBuf;
use std::time::Duration;

/// The app id of the chat example, whose rooms the command line joins.
const APP_ID: &str = "rendez-chat-example";
/// The chat example's stream action for files.
const FILES_ACTION: &str = "files";
/// What a sender announces before its files: how many, and their total size.
const MANIFEST_ACTION: &str = "rendez-manifest";

#[derive(Parser)]
#[command(name = "rendez", version, about = "Send files between terminals and browsers through serverless rooms")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Send files (and, with -r, directories): prints a code to receive them with.
    Send {
        /// Files to send (directories with -r).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Send directories and everything in them.
        #[arg(short, long)]
        recursive: bool,
        /// Where the chat example is served: the printed link opens it in the same room.
        #[arg(long, default_value = "http://localhost:8080/examples/chat/")]
        chat_url: String,
        #[command(flatten)]
        room: RoomArgs,
    },
    /// Receive the files sent with CODE.
    Recv {
        /// The code the sender printed.
        code: String,
        /// Where to write the files.
        #[arg(short, long, default_value = ".")]
        output: PathBuf,
        /// Accept without asking.
        #[arg(short, long)]
        yes: bool,
        /// Go on with the next file when one fails (exit code 1 at the end).
        #[arg(long)]
        skip_errors: bool,
        #[command(flatten)]
        room: RoomArgs,
    },
}

#[derive(Args)]
struct RoomArgs {
    /// How peers meet.
    #[arg(long, value_enum, default_value_t = Strategy::Torrent)]
    strategy: Strategy,
    /// A relay to meet through (repeatable; the strategy's public relays by default).
    #[arg(long = "relay")]
    relays: Vec<String>,
    /// Seal the room with a password (both sides must give the same).
    #[arg(long)]
    password: Option<String>,
    /// Print only the code and errors.
    #[arg(short, long)]
    quiet: bool,
    /// How long to wait for the other side, in seconds.
    #[arg(long, default_value_t = 120)]
    wait: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum Strategy {
    Torrent,
    Nostr,
    Mqtt,
}

impl RoomArgs {
    fn join_config(&self) -> JoinConfig {
        let strategy = match self.strategy {
            Strategy::Torrent => StrategyKind::Torrent,
            Strategy::Nostr => StrategyKind::Nostr,
            Strategy::Mqtt => StrategyKind::Mqtt,
        };
        let relays = if self.relays.is_empty() { strategy.default_relay_urls() } else { self.relays.clone() };
        let config = JoinConfig::new(APP_ID, strategy, relays);
        match &self.password {
            Some(password) => config.with_password(password),
            None => config,
        }
    }

    fn wait(&self) -> Duration {
        Duration::from_secs(self.wait)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let result = match Cli::parse().command {
        Command::Send { paths, recursive, chat_url, room } => send::run(&paths, recursive, &chat_url, &room).await,
        Command::Recv { code, output, yes, skip_errors, room } => {
            recv::run(&code, &output, recv::Options { yes, skip_errors }, &room).await
        }
    };
    if let Err(failure) = result {
        eprintln!("rendez: {failure}");
        std::process::exit(failure.exit_code());
    }
}

/// What `send` and `recv` return.
type Outcome = Result<(), Failure>;
