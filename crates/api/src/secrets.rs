//! Secrets Missive itself publishes as examples, which must never sign
//! real tokens: anyone who read the README could forge a token for any
//! user with them.

/// Every example JWT secret that appears in the repository (README,
/// deployment examples). The test below scans the repository, so a new
/// example cannot be added without being listed here.
pub const PUBLISHED: &[&str] = &[
    // README.md, the example missive.toml.
    "a long random string of at least 32 bytes",
    // deploy/k8s/secret.example.yaml, and once the compose file's fallback.
    "change-me-to-a-long-random-secret-of-32-bytes-or-more",
];

/// Whether `secret` is one of [`PUBLISHED`] or an obvious placeholder.
pub fn is_published(secret: &str) -> bool {
    let secret = secret.trim();
    let lowered = secret.to_ascii_lowercase();
    PUBLISHED.contains(&secret) || lowered.contains("change-me") || lowered.contains("changeme")
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    fn repository_files(root: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut pending = vec![root.to_path_buf()];
        while let Some(dir) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') && name != ".ci" || name == "target" || name == "assets" {
                    continue;
                }
                if path.is_dir() {
                    pending.push(path);
                } else if [
                    ".md", ".toml", ".yml", ".yaml", ".sh", ".conf", ".example", "run",
                ]
                .iter()
                .any(|ext| name.ends_with(ext))
                {
                    out.push(path);
                }
            }
        }
        out
    }

    /// The literal values given to a JWT secret on one line, if any:
    /// `jwt_secret = "…"`, `JWT_SECRET: …`, `JWT_SECRET=…`, `:-…}`
    /// defaults. Shell substitutions (`$(…)`, `${…}` without a default)
    /// are not literals.
    fn literal_secrets(line: &str) -> Vec<String> {
        let lower = line.to_ascii_lowercase();
        let Some(at) = lower.find("jwt_secret") else {
            return Vec::new();
        };
        let rest = &line[at + "jwt_secret".len()..];
        let mut found = Vec::new();
        if let Some(default) = rest.split(":-").nth(1) {
            found.push(default.split('}').next().unwrap_or("").to_owned());
        }
        let value = rest.trim_start_matches(['"', '\'']).trim_start();
        if let Some(value) = value.strip_prefix(['=', ':']) {
            let value = value.trim();
            let literal = match value.chars().next() {
                Some(quote @ ('"' | '\'' | '`')) => value[1..].split(quote).next(),
                _ => value.split_whitespace().next(),
            };
            if let Some(literal) = literal.filter(|l| !l.starts_with('$') && !l.is_empty()) {
                found.push(literal.to_owned());
            }
        }
        found
            .into_iter()
            .map(|s| s.trim_matches(['"', '\'', '`', ')', ',']).to_owned())
            .filter(|s| s.len() >= 32)
            .collect()
    }

    #[test]
    fn every_example_secret_in_the_repository_is_refused() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut checked = 0;
        for file in repository_files(&root) {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            for line in text.lines() {
                for secret in literal_secrets(line) {
                    checked += 1;
                    assert!(
                        is_published(&secret),
                        "{}: the example JWT secret {secret:?} must be listed in secrets::PUBLISHED",
                        file.display()
                    );
                }
            }
        }
        assert!(checked > 0, "the scan found the README's example");
    }

    #[test]
    fn literals_are_found_in_the_usual_shapes() {
        assert_eq!(
            literal_secrets(r#"jwt_secret = "a long random string of at least 32 bytes""#),
            ["a long random string of at least 32 bytes"]
        );
        assert_eq!(
            literal_secrets(
                "  MISSIVE__AUTH__JWT_SECRET: change-me-to-a-long-random-secret-of-32-bytes-or-more"
            ),
            ["change-me-to-a-long-random-secret-of-32-bytes-or-more"]
        );
        assert!(
            literal_secrets(r#"MISSIVE__AUTH__JWT_SECRET="$(openssl rand -base64 48)""#).is_empty()
        );
        assert!(
            literal_secrets("MISSIVE__AUTH__JWT_SECRET: ${MISSIVE_JWT_SECRET:?set it}").is_empty()
        );
    }

    #[test]
    fn placeholders_and_examples_are_published_random_ones_are_not() {
        assert!(is_published(" a long random string of at least 32 bytes "));
        assert!(is_published("please-CHANGE-ME-0123456789abcdef0123456789"));
        assert!(!is_published("k3J9vQ2x7ZpL0aWm5RtY8uN1bC4dE6fG"));
    }
}
