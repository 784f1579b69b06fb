//! Inode numbers for the paths of the mount. A number is never given to another path, so the
//! kernel never sees a reused node id (which it would mark bad).
//!
//! A file's number stands for one version of its content: when the content changes, the path
//! gets a new number and the old one is *retired*. The kernel caches pages per inode
//! (keep_cache), so a retired inode's pages stay those of the old version, for the readers
//! that opened it; new lookups find the new inode with an empty cache. A retired number is
//! forgotten once the kernel has forgotten every lookup of it.

use std::collections::HashMap;

use super::types::{Attr, Ino, ROOT_INO};
use super::view::FileName;

/// What an inode is: a path in the mount, by the exact names shown.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Node {
    Root,
    /// `TRUSTED_ROOT_CRLS`, vCenter's name of the CRL store, as a symlink.
    CrlLink,
    Store(String),
    Alias(String, String),
    File(String, String, FileName),
    /// A temporary file an editor or sync tool made next to cert.pem / key.pem.
    Temp(String, String, String),
    /// A read-only file the mount computes in a store directory (CApath names, CA bundle).
    Generated(String, String),
}

impl Node {
    /// Where this node is after `from` is renamed to `to`: `from` itself or a path below it
    /// (the files of a renamed alias directory); `None` for nodes the rename does not touch.
    fn moved(&self, from: &Node, to: &Node) -> Option<Node> {
        if self == from {
            return Some(to.clone());
        }
        let (Node::Alias(fs, fa), Node::Alias(ts, ta)) = (from, to) else {
            return None;
        };
        match self {
            Node::File(s, a, f) if s == fs && a == fa => {
                Some(Node::File(ts.clone(), ta.clone(), *f))
            }
            Node::Temp(s, a, n) if s == fs && a == fa => {
                Some(Node::Temp(ts.clone(), ta.clone(), n.clone()))
            }
            _ => None,
        }
    }
}

pub const CRL_LINK_INO: Ino = 2;

/// What the kernel may still ask about a number.
struct Known {
    node: Node,
    /// Lookups the kernel holds (entries replied minus those it forgot).
    lookups: u64,
    life: Life,
}

/// Whether a number still names its path.
enum Life {
    Current,
    /// The path moved on to another number; this one is an older version with these
    /// attributes.
    Older(Attr),
    /// Replaced by a rename: gone for good.
    Gone,
}

/// A number whose path moved on: the path it had, and the attributes of its version.
pub struct Retired<'a> {
    pub node: &'a Node,
    pub attr: Option<&'a Attr>,
}

pub struct Inodes {
    by_node: HashMap<Node, Ino>,
    by_ino: HashMap<Ino, Known>,
    next: Ino,
}

impl Inodes {
    pub fn new() -> Self {
        let mut table = Inodes {
            by_node: HashMap::new(),
            by_ino: HashMap::new(),
            next: CRL_LINK_INO + 1,
        };
        table.insert(Node::Root, ROOT_INO);
        table.insert(Node::CrlLink, CRL_LINK_INO);
        table
    }

    fn insert(&mut self, node: Node, ino: Ino) {
        self.by_node.insert(node.clone(), ino);
        let lookups = self.by_ino.get(&ino).map_or(0, |k| k.lookups);
        self.by_ino.insert(
            ino,
            Known {
                node,
                lookups,
                life: Life::Current,
            },
        );
    }

    /// The number of a path, given one on first sight.
    pub fn ino(&mut self, node: &Node) -> Ino {
        if let Some(&ino) = self.by_node.get(node) {
            return ino;
        }
        let ino = self.next;
        self.next += 1;
        self.insert(node.clone(), ino);
        ino
    }

    /// The number of a path if it has one already.
    pub fn existing(&self, node: &Node) -> Option<Ino> {
        self.by_node.get(node).copied()
    }

    /// After rename(2) the kernel keeps using the source's node id for the new name: the id
    /// moves with it (and with every path below it), and whatever the new name had is forgotten.
    pub fn rename(&mut self, from: &Node, to: &Node) {
        let moved: Vec<(Node, Node)> = self
            .by_node
            .keys()
            .filter_map(|node| node.moved(from, to).map(|new| (node.clone(), new)))
            .collect();
        let replaced: Vec<Node> = self
            .by_node
            .keys()
            .filter(|node| node.moved(to, to).is_some())
            .cloned()
            .collect();
        for node in replaced {
            self.retire(&node, None);
        }
        for (old, new) in moved {
            if let Some(ino) = self.by_node.remove(&old) {
                self.insert(new, ino);
            }
        }
    }

    /// The path gets a new number on next sight; the current one keeps `attr` for the kernel's
    /// remaining references, or is dropped at once if the kernel holds none.
    pub fn retire(&mut self, node: &Node, attr: Option<Attr>) {
        let Some(ino) = self.by_node.remove(node) else {
            return;
        };
        match self.by_ino.get_mut(&ino) {
            Some(known) if known.lookups > 0 => {
                known.life = attr.map_or(Life::Gone, Life::Older);
            }
            _ => {
                self.by_ino.remove(&ino);
            }
        }
    }

    /// The path of a current number.
    pub fn node(&self, ino: Ino) -> Option<&Node> {
        self.by_ino
            .get(&ino)
            .filter(|k| matches!(k.life, Life::Current))
            .map(|k| &k.node)
    }

    pub fn retired(&self, ino: Ino) -> Option<Retired<'_>> {
        let known = self.by_ino.get(&ino)?;
        let attr = match &known.life {
            Life::Current => return None,
            Life::Older(attr) => Some(attr),
            Life::Gone => None,
        };
        Some(Retired {
            node: &known.node,
            attr,
        })
    }

    /// The kernel took one more reference to `ino` (an entry reply).
    pub fn looked_up(&mut self, ino: Ino) {
        if let Some(known) = self.by_ino.get_mut(&ino) {
            known.lookups += 1;
        }
    }

    /// The kernel dropped `count` references to `ino`.
    pub fn forget(&mut self, ino: Ino, count: u64) {
        let Some(known) = self.by_ino.get_mut(&ino) else {
            return;
        };
        known.lookups = known.lookups.saturating_sub(count);
        if known.lookups == 0 && !matches!(known.life, Life::Current) {
            self.by_ino.remove(&ino);
        }
    }

    pub fn len(&self) -> usize {
        self.by_ino.len()
    }
}

impl Default for Inodes {
    fn default() -> Self {
        Self::new()
    }
}
