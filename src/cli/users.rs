//! `guichet users add|list|revoke`: the référents' and admins' tokens.

use clap::Subcommand;

use crate::config::Config;
use crate::referents::{Referents, Role};
use crate::{Error, Result};

#[derive(Debug, Subcommand)]
pub(super) enum UsersCommand {
    /// Create a user and print its token (shown once; only its hash is kept).
    Add {
        /// A unique name (written in the audit log).
        name: String,
        /// `referent` (documents, curated answers, review) or `admin`.
        #[arg(long, default_value = "referent")]
        role: Role,
    },
    /// List the users (no secrets).
    List,
    /// Revoke a user's token.
    Revoke {
        /// The user's name.
        name: String,
    },
}

pub(super) fn run(config: &Config, cmd: UsersCommand) -> Result<()> {
    let store = Referents::open(&config.data_dir.join("guichet.db"))?;
    match cmd {
        UsersCommand::Add { name, role } => {
            let token = store.add_user(&name, role)?;
            eprintln!(
                "user {name} ({}) created; its token, shown only now:",
                role.as_str()
            );
            println!("{token}");
        }
        UsersCommand::List => {
            for u in store.users()? {
                println!(
                    "{:<24} {:<9} created {}{}",
                    u.name,
                    u.role.as_str(),
                    u.created_at,
                    u.revoked_at
                        .map_or(String::new(), |r| format!(", revoked {r}"))
                );
            }
        }
        UsersCommand::Revoke { name } => {
            if !store.revoke(&name)? {
                return Err(Error::Usage(format!("no active user named {name}")));
            }
            println!("revoked {name}");
        }
    }
    Ok(())
}
