//! `guichet users add|list|revoke`: the référents' and admins' tokens.

use clap::Subcommand;

use crate::config::Config;
use crate::referents::{Profile, Referents, Role};
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
        /// The last day the token is valid (YYYY-MM-DD, the town's time
        /// zone); without it the token does not expire.
        #[arg(long, value_name = "DATE")]
        expires: Option<String>,
        /// Where the user receives notices (handoffs, answers rated down).
        #[arg(long)]
        email: Option<String>,
        /// A topic of those notices (a word or phrase; repeat for several);
        /// none: every notice.
        #[arg(long = "topic", value_name = "TOPIC")]
        topics: Vec<String>,
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
        UsersCommand::Add {
            name,
            role,
            expires,
            email,
            topics,
        } => {
            if let Some(p) = crate::referents::name_problem(&name) {
                return Err(Error::Usage(p));
            }
            let profile = Profile {
                expires_at: expires,
                email,
                topics,
            };
            let token = store.add_user(&name, role, &profile)?;
            eprintln!(
                "user {name} ({}) created; its token, shown only now:",
                role.as_str()
            );
            println!("{token}");
        }
        UsersCommand::List => {
            for u in store.users()? {
                println!(
                    "{:<24} {:<9} created {}, last used {}{}{}{}",
                    u.name,
                    u.role.as_str(),
                    u.created_at,
                    u.last_used_at.as_deref().unwrap_or("never"),
                    u.expires_at
                        .map_or(String::new(), |d| format!(", expires after {d}")),
                    u.email
                        .map_or(String::new(), |e| format!(", notices to {e}")),
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
