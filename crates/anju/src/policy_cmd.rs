//! `anju policy …`: the centre's policy versions (issue 8 §3, maker-checker for policy
//! changes). The policy in effect is the database's approved version; a change is a new
//! file proposed by a manager (`propose --file`) and approved by another manager with
//! `anju access approval approve`. `export` writes the approved text to a file (to edit
//! it, or to start with `--policy`).

use std::path::PathBuf;

use anju_app::access::policy;
use anju_domain::policy::Policy;
use clap::{Args, Subcommand};
use jiff::Timestamp;

/// Where: the database and centre.
#[derive(Debug, Clone, Args)]
pub struct At {
    /// Database URL (sqlite://PATH or postgres://…).
    #[arg(long)]
    pub db: String,
    /// Centre (default: the only one in the database).
    #[arg(long)]
    pub centre: Option<String>,
}

/// `anju policy …`.
#[derive(Debug, Subcommand)]
pub enum PolicyCmd {
    /// The version in effect: number, SM3, when, who proposed and approved it.
    Show {
        #[command(flatten)]
        at: At,
    },
    /// Every version, oldest first.
    History {
        #[command(flatten)]
        at: At,
    },
    /// Propose a new policy file (a manager); in effect once another manager approves it
    /// (`anju access approval approve --approval N`).
    Propose {
        #[command(flatten)]
        at: At,
        /// Who proposes: `staff:<id>` (a manager at the back office).
        #[arg(long = "as", value_name = "staff:ID")]
        actor: String,
        /// The new policy file (TOML).
        #[arg(long)]
        file: PathBuf,
    },
    /// Write the approved text, exactly, to a file.
    Export {
        #[command(flatten)]
        at: At,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

impl PolicyCmd {
    fn at(&self) -> &At {
        match self {
            PolicyCmd::Show { at }
            | PolicyCmd::History { at }
            | PolicyCmd::Propose { at, .. }
            | PolicyCmd::Export { at, .. } => at,
        }
    }
}

fn time(us: i64) -> String {
    Timestamp::from_microsecond(us).map_or_else(|_| us.to_string(), |t| t.to_string())
}

const NONE_YET: &str = "no policy version recorded yet: the first command that opens the centre (serve, demo, withdraw, loan, close-day …) adopts its --policy file, or the shipped policy, as version 1";

/// Runs `anju policy …`; returns the exit code.
pub fn run(cmd: PolicyCmd) -> anyhow::Result<u8> {
    let at = cmd.at().clone();
    let store = crate::db::open(&at.db)?;
    let store = store.as_ref();
    let centre = crate::only_centre(store, at.centre.clone())?;
    let c = centre.as_str();
    let now = Timestamp::now();
    match cmd {
        PolicyCmd::Show { .. } => {
            let Some(cur) = policy::history(store, c)?.pop() else {
                println!("{NONE_YET}");
                return Ok(0);
            };
            let label = Policy::from_toml(&cur.text)
                .map(|p| p.centre().policy_version.clone())
                .unwrap_or_else(|e| format!("(does not parse with this build: {e})"));
            println!("centre {c}: policy version {} in effect", cur.version);
            println!("sm3\t{}", cur.sm3);
            println!("label\t{label}");
            println!("adopted\t{}", time(cur.adopted_at_us));
            println!("proposed by\t{}", cur.maker);
            match (&cur.checker, cur.approval_id) {
                (Some(k), Some(n)) => println!("approved by\t{k} (approval {n})"),
                _ => println!("approved by\t(none: adopted at the first start)"),
            }
            Ok(0)
        }
        PolicyCmd::History { .. } => {
            let rows = policy::history(store, c)?;
            if rows.is_empty() {
                println!("{NONE_YET}");
            }
            for r in rows {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    r.version,
                    r.sm3,
                    time(r.adopted_at_us),
                    r.maker,
                    r.checker.as_deref().unwrap_or("-"),
                    r.approval_id.map_or("-".to_owned(), |n| n.to_string())
                );
            }
            Ok(0)
        }
        PolicyCmd::Propose { actor, file, .. } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("cannot read policy file {}: {e}", file.display()))?;
            let a = crate::access_cmd::actor(store, c, &actor)?;
            let n = policy::propose_policy(store, c, &a, &text, now)
                .map_err(|e| anyhow::anyhow!("policy file {}: {e}", file.display()))?;
            println!(
                "policy change {} (sm3 {}) awaits another manager: anju access approval approve --approval {n} --as staff:<manager>",
                file.display(),
                policy::text_sm3(&text)
            );
            Ok(0)
        }
        PolicyCmd::Export { out, .. } => {
            let Some((version, text)) = policy::current_policy(store, c)? else {
                anyhow::bail!("{NONE_YET}");
            };
            std::fs::write(&out, &text)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
            println!(
                "wrote policy version {version} (sm3 {}) to {}",
                policy::text_sm3(&text),
                out.display()
            );
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        #[derive(Debug, clap::Parser)]
        struct Cli {
            #[command(subcommand)]
            cmd: super::PolicyCmd,
        }
        Cli::command().debug_assert();
    }
}
