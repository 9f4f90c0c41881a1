//! Frame-exact replay of episodes recorded from the reference `minatar` package
//! (`tests/fixtures/minatar/trajectories.json`, made by `scripts/dev/gen-minatar-reference`): fed the
//! reference run's random draws and played actions, every game must produce the same rewards,
//! terminal flags and observations, frame by frame, and consume exactly the same draws.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::asterix::Asterix;
use super::breakout::Breakout;
use super::common::{Action, Draws, Game, Planes};
use super::freeway::Freeway;
use super::seaquest::Seaquest;
use super::space_invaders::SpaceInvaders;

#[derive(Deserialize)]
struct Fixture {
    games: BTreeMap<String, Recording>,
}

#[derive(Deserialize)]
struct Recording {
    channels: usize,
    episodes: Vec<Episode>,
}

#[derive(Deserialize)]
struct Episode {
    reset_obs: String,
    draws: Vec<String>,
    /// (action played, in minatar's full action set; reward; terminal; FNV-1a 64 of the obs)
    frames: Vec<(usize, u32, bool, String)>,
    last_obs: String,
}

/// Hands out the recorded draws in order, checking each is the kind of draw the game asks for.
struct Scripted<'a> {
    draws: &'a [String],
    next: usize,
    context: String,
}

impl Scripted<'_> {
    fn take(&mut self, tag: char) -> &str {
        let draw = self.draws.get(self.next).unwrap_or_else(|| {
            panic!(
                "{}: asked for draw {} but only {} were recorded",
                self.context,
                self.next,
                self.draws.len()
            )
        });
        self.next += 1;
        draw.strip_prefix(tag).unwrap_or_else(|| {
            panic!(
                "{}: draw {} is '{draw}', expected a '{tag}' draw",
                self.context,
                self.next - 1
            )
        })
    }
}

impl Draws for Scripted<'_> {
    fn rand(&mut self) -> f64 {
        f64::from_bits(u64::from_str_radix(self.take('r'), 16).expect("hex float bits"))
    }

    fn randint(&mut self, low: i64, high: i64) -> i64 {
        let v: i64 = self.take('i').parse().expect("integer draw");
        assert!(
            (low..high).contains(&v),
            "{}: randint({low}, {high}) recorded {v}",
            self.context
        );
        v
    }
}

const FULL_ACTIONS: [Action; 6] = [
    Action::Noop,
    Action::Left,
    Action::Up,
    Action::Right,
    Action::Down,
    Action::Fire,
];

/// The observation packed as numpy's `packbits(..., bitorder="little")` of the channel-major planes.
fn packed<G: Game>(game: &G) -> Vec<u8> {
    let mut obs = vec![0.0; G::CHANNELS * 100];
    game.render(&mut Planes::new(&mut obs, G::CHANNELS, G::ID));
    let mut bytes = vec![0u8; obs.len().div_ceil(8)];
    for (i, &v) in obs.iter().enumerate() {
        if v == 1.0 {
            bytes[i / 8] |= 1 << (i % 8);
        }
    }
    bytes
}

fn fnv1a64(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn replay<G: Game>() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/minatar/trajectories.json"
    );
    let text = std::fs::read_to_string(path).expect("trajectories fixture");
    let fixture: Fixture = serde_json::from_str(&text).expect("trajectories fixture parses");
    let rec = &fixture.games[G::ID];
    assert_eq!(rec.channels, G::CHANNELS, "{}: channel count", G::ID);
    let mut frames = 0;
    for (e, ep) in rec.episodes.iter().enumerate() {
        let context = format!("{} episode {e}", G::ID);
        let mut draws = Scripted {
            draws: &ep.draws,
            next: 0,
            context: context.clone(),
        };
        let mut game = G::new(true);
        game.reset(&mut draws);
        assert_eq!(
            hex(&packed(&game)),
            ep.reset_obs,
            "{context}: observation after reset"
        );
        for (t, (action, reward, terminal, hash)) in ep.frames.iter().enumerate() {
            draws.context = format!("{context} frame {t}");
            let got = game.act(FULL_ACTIONS[*action], &mut draws);
            assert_eq!(
                got,
                (*reward, *terminal),
                "{context} frame {t}: (reward, terminal)"
            );
            assert_eq!(
                &fnv1a64(&packed(&game)),
                hash,
                "{context} frame {t}: observation"
            );
        }
        assert_eq!(
            hex(&packed(&game)),
            ep.last_obs,
            "{context}: last observation"
        );
        assert_eq!(draws.next, ep.draws.len(), "{context}: draws consumed");
        frames += ep.frames.len();
    }
    assert!(frames > 0, "{}: fixture has no frames", G::ID);
}

#[test]
fn breakout_replays_the_reference_exactly() {
    replay::<Breakout>();
}

#[test]
fn freeway_replays_the_reference_exactly() {
    replay::<Freeway>();
}

#[test]
fn asterix_replays_the_reference_exactly() {
    replay::<Asterix>();
}

#[test]
fn seaquest_replays_the_reference_exactly() {
    replay::<Seaquest>();
}

#[test]
fn space_invaders_replays_the_reference_exactly() {
    replay::<SpaceInvaders>();
}
