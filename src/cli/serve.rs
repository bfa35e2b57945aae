//! `guichet serve`: the HTTP service (the README's main command).

use clap::Args;

use crate::config::Config;
use crate::{Error, Result};

#[derive(Debug, Args)]
pub(super) struct ServeArgs {
    /// Address and port to listen on (overrides `server.bind`;
    /// `127.0.0.1:0` picks a free port, printed on stdout).
    #[arg(long)]
    bind: Option<String>,
}

pub(super) fn run(config: &Config, args: ServeArgs) -> Result<()> {
    let mut config = config.clone();
    if let Some(b) = args.bind {
        if b.parse::<std::net::SocketAddr>().is_err() {
            return Err(Error::Usage(format!(
                "--bind {b:?} is not an address:port such as 127.0.0.1:8080"
            )));
        }
        config.settings.server.bind = b;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("guichet-http")
        .build()
        .map_err(|e| Error::Unavailable(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(crate::api::serve(config))
}
