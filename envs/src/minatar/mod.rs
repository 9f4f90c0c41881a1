//! The five MinAtar games of the `minatar` 1.0.15 package, as its Gymnasium `-v1` ids configure
//! them: minimal action set, sticky actions with probability 0.1, difficulty ramping, no time
//! limit. Mechanics, rewards, termination and observation channels follow the Python source;
//! random draws come from a `Pcg64`, so streams differ from numpy's while their statistics match.

mod asterix;
mod breakout;
mod common;
mod freeway;
mod seaquest;
mod space_invaders;
mod wrapper;

#[cfg(test)]
mod reference_tests;

use common::Game;
use wrapper::MinAtar;
pub use wrapper::Options;

use crate::Env;

/// Registered ids, e.g. `MinAtar/Breakout-v1`.
pub const IDS: &[&str] = &[
    asterix::Asterix::ID,
    breakout::Breakout::ID,
    freeway::Freeway::ID,
    seaquest::Seaquest::ID,
    space_invaders::SpaceInvaders::ID,
];

/// Builds the game registered as `id`, or `None` if no MinAtar game has that id.
pub fn make(id: &str) -> Option<Box<dyn Env>> {
    make_with(id, Options::default())
}

/// Like [`make`], with sticky actions and difficulty ramping set by `options`.
pub fn make_with(id: &str, options: Options) -> Option<Box<dyn Env>> {
    fn boxed<G: Game>(options: Options) -> Option<Box<dyn Env>> {
        Some(Box::new(MinAtar::<G>::new(options)))
    }
    match id {
        asterix::Asterix::ID => boxed::<asterix::Asterix>(options),
        breakout::Breakout::ID => boxed::<breakout::Breakout>(options),
        freeway::Freeway::ID => boxed::<freeway::Freeway>(options),
        seaquest::Seaquest::ID => boxed::<seaquest::Seaquest>(options),
        space_invaders::SpaceInvaders::ID => boxed::<space_invaders::SpaceInvaders>(options),
        _ => None,
    }
}
