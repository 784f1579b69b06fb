//! Inode numbers for the paths of the mount. A path keeps its number for the life of the
//! daemon, and a number is never given to another path, so the kernel never sees a reused
//! node id (which it would mark bad).

use std::collections::HashMap;

use super::types::{Ino, ROOT_INO};
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

pub struct Inodes {
    by_node: HashMap<Node, Ino>,
    by_ino: HashMap<Ino, Node>,
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
        self.by_ino.insert(ino, node);
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
            if let Some(ino) = self.by_node.remove(&node) {
                self.by_ino.remove(&ino);
            }
        }
        for (old, new) in moved {
            if let Some(ino) = self.by_node.remove(&old) {
                self.insert(new, ino);
            }
        }
    }

    pub fn node(&self, ino: Ino) -> Option<&Node> {
        self.by_ino.get(&ino)
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
