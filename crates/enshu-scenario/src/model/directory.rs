//! The team's directory (`directory:` in a scenario): a Samba AD domain on
//! a host of image `directory`, with the users and groups the story needs.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The team's directory: the domain a host of image `directory` serves
/// (Kerberos, LDAP, SMB; DNS for the range's names and the realm's), its
/// groups and users. The team administers it as `Administrator` with its
/// own password (e.g. `samba-tool … -H ldap://<host> -U Administrator`
/// from the analyst workstation); every logon lands in the host's
/// `/var/log/samba/auth.log`, forwarded to the collectors.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Directory {
    /// The directory host (`segment/host`, image `directory`, in the
    /// team's range).
    pub host: String,
    /// The domain's DNS name (the Kerberos realm, upper-cased).
    #[serde(default = "default_realm")]
    pub realm: String,
    /// The domain's NetBIOS name (at most 15 letters, digits or `-`).
    #[serde(default = "default_domain")]
    pub domain: String,
    /// Groups to create (names of letters, digits, `.`, `_` and `-`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Users to create.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<DirectoryUser>,
}

/// One account of the directory.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DirectoryUser {
    /// Its account name (`sAMAccountName`: letters, digits, `.`, `_`, `-`).
    pub name: String,
    /// The groups it is a member of (each one of the directory's `groups`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Whether the account is enabled at start.
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// Its password, for an attack story (the weak one a spray finds). By
    /// default each team gets its own, derived from the session's secret
    /// like the team's password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// The staff PC this user works at (`segment/host`, image
    /// `workstation`): it logs on to the directory (Kerberos) at start and
    /// every five minutes, so successful logons are in the logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workstation: Option<String>,
}

/// The default realm: さいだ市's domain.
pub const DEFAULT_REALM: &str = "ad.city.saida.lg.jp";
/// The default NetBIOS domain name.
pub const DEFAULT_DIRECTORY_DOMAIN: &str = "SAIDA";

fn default_realm() -> String {
    DEFAULT_REALM.to_string()
}

fn default_domain() -> String {
    DEFAULT_DIRECTORY_DOMAIN.to_string()
}

fn enabled() -> bool {
    true
}

impl Directory {
    /// The user named `name`.
    pub fn user(&self, name: &str) -> Option<&DirectoryUser> {
        self.users.iter().find(|user| user.name == name)
    }
}
