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
    /// Database URL: sqlite:… or postgres://… (DATABASE_URL).
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Directory for the SQLite file, the secret and the dev mailbox (PORTAL_DATA_DIR).
    #[arg(long, global = true)]
    pub data_dir: Option<String>,
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
        /// Listen address, ip:port or host:port (PORTAL_BIND).
        #[arg(long)]
        bind: Option<String>,
        /// Directory with the built SPA (PORTAL_STATIC_DIR).
        #[arg(long)]
        static_dir: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Print the effective configuration (secrets redacted) with where each setting came from,
    /// then check it: exits 2 with the one-line error `serve` would stop with.
    Config,
    /// Seed demo data into an empty database and print how to sign in (starts no server).
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
        /// The user's email address, which also signs them in.
        #[arg(long)]
        email: String,
        /// A mobile number for SMS codes, international (+46…) or in the default region.
        #[arg(long)]
        phone: Option<String>,
        /// The name shown to administrators (default: the part of the email before @).
        #[arg(long)]
        name: Option<String>,
        /// The password (visible in the process list; prefer --password-stdin). Without a
        /// password or --sso, the user signs in after a reset.
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
    /// List the users: email, phone, role, how they sign in, status and last sign-in.
    List {
        /// Only users whose name, email or phone contains this (case-insensitive).
        #[arg(long, default_value = "")]
        search: String,
    },
    /// Deactivate a user: signed out everywhere, codes and links killed, no sign-in and no
    /// reset until activated again (the owner cannot be deactivated).
    Deactivate {
        /// The user's email address.
        #[arg(long)]
        email: String,
    },
    /// Activate a deactivated user again (sign-in and reset work as before).
    Activate {
        /// The user's email address.
        #[arg(long)]
        email: String,
    },
    /// Set a user's password (signs the user out everywhere).
    SetPassword {
        /// The user's email address.
        #[arg(long)]
        email: String,
        /// The new password (visible in the process list; prefer --password-stdin).
        #[arg(long, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Read the new password from the first line of standard input.
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
        /// The role's name: not blank, not owner, admin or member.
        #[arg(long)]
        name: String,
        /// Comma-separated, at least one: users:view, users:edit, roles:manage, audit:view.
        #[arg(long)]
        permissions: String,
    },
    /// List the custom roles with their permissions and how many users hold each.
    List,
    /// Give a user a role.
    Assign {
        /// The user's email address.
        #[arg(long)]
        email: String,
        /// admin, member or a custom role's name.
        #[arg(long)]
        role: String,
    },
}

impl Cli {
    /// Flags that override the configuration, as (key, value).
    pub fn overrides(&self) -> Vec<(&'static str, String)> {
        let (bind, static_dir) = match &self.command {
            Command::Serve {
                bind, static_dir, ..
            } => (bind, static_dir),
            _ => (&None, &None),
        };
        [
            ("bind", bind),
            ("database_url", &self.database_url),
            ("data_dir", &self.data_dir),
            ("static_dir", static_dir),
        ]
        .into_iter()
        .filter_map(|(key, value)| Some((key, value.clone()?)))
        .collect()
    }
}

/// The `--password` given, or with `--password-stdin` the first line of standard input.
pub fn password(given: Option<String>, stdin: bool) -> Result<Option<String>, String> {
    if !stdin {
        return Ok(given);
    }
    let mut s = String::new();
    std::io::stdin()
        .read_line(&mut s)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    Ok(Some(s.trim_end_matches(['\n', '\r']).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every command below `cmd`, with its path.
    fn commands(cmd: &clap::Command, path: String, out: &mut Vec<(String, clap::Command)>) {
        for sub in cmd.get_subcommands() {
            let path = format!("{path} {}", sub.get_name());
            out.push((path.clone(), sub.clone()));
            commands(sub, path, out);
        }
    }

    #[test]
    fn each_command_documents_its_own_options_and_only_those() {
        let mut all = Vec::new();
        commands(&Cli::command(), "portal".into(), &mut all);
        for (path, cmd) in all {
            for arg in cmd.get_arguments() {
                assert!(
                    arg.get_help().is_some(),
                    "{path} --{} has no description",
                    arg.get_id()
                );
                let serve_only = ["bind", "static_dir", "demo"].contains(&arg.get_id().as_str());
                assert!(
                    !serve_only || path == "portal serve",
                    "{path} offers serve's --{}",
                    arg.get_id()
                );
            }
        }
    }
}
