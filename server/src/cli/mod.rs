//! The `portal` command line: `serve`, `migrate`, `demo`, `user …`, `role …`.

pub mod demo;
pub mod users;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "portal",
    version,
    about = "The password-reset portal: API server and operator tools"
)]
pub struct Cli {
    /// Listen address (PORTAL_BIND).
    #[arg(long, global = true)]
    pub bind: Option<String>,
    /// Database URL: sqlite:… or postgres://… (DATABASE_URL).
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Directory for the SQLite file, the secret and the dev mailbox (PORTAL_DATA_DIR).
    #[arg(long, global = true)]
    pub data_dir: Option<String>,
    /// Directory with the built SPA (PORTAL_STATIC_DIR).
    #[arg(long, global = true)]
    pub static_dir: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API and the SPA.
    Serve {
        /// Seed the demo account (users whose password is printed) into an empty database: for
        /// trying the portal out, never for a real deployment.
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Seed demo data into an empty database and print how to sign in.
    Demo,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage custom roles.
    #[command(subcommand)]
    Role(RoleCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user to the (first) account.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// The password (visible in the process list; prefer --password-stdin).
        #[arg(long, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// owner, admin, member or a custom role's name.
        #[arg(long, default_value = "member")]
        role: String,
        /// Sign-in provider instead of a password: google, apple, facebook, microsoft, saml.
        #[arg(long)]
        sso: Option<String>,
    },
    /// Set a user's password (signs the user out everywhere).
    SetPassword {
        #[arg(long)]
        email: String,
        #[arg(long, conflicts_with = "password_stdin")]
        password: Option<String>,
        #[arg(long)]
        password_stdin: bool,
        /// Make the user choose a new password at next sign-in.
        #[arg(long)]
        require_change: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Create a custom role.
    Add {
        #[arg(long)]
        name: String,
        /// Comma-separated: users:view, users:edit, roles:manage, audit:view.
        #[arg(long, default_value = "")]
        permissions: String,
    },
    /// Give a user a role: admin, member or a custom role's name.
    Assign {
        #[arg(long)]
        email: String,
        #[arg(long)]
        role: String,
    },
}

impl Cli {
    /// Flags that override the configuration, as (key, value).
    pub fn overrides(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        if let Some(b) = &self.bind {
            v.push(("bind", b.clone()));
        }
        if let Some(d) = &self.database_url {
            v.push(("database_url", d.clone()));
        }
        if let Some(d) = &self.data_dir {
            v.push(("data_dir", d.clone()));
        }
        if let Some(d) = &self.static_dir {
            v.push(("static_dir", d.clone()));
        }
        v
    }
}

/// Reads one line from standard input (for `--password-stdin`).
pub fn read_stdin_line() -> Result<String, String> {
    let mut s = String::new();
    std::io::stdin()
        .read_line(&mut s)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    Ok(s.trim_end_matches(['\n', '\r']).to_string())
}
