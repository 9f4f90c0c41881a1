//! Asterix (minatar `environments/asterix.py`): dodge enemies and collect gold (+1) crossing the
//! eight middle rows; touching an enemy ends the game. Spawning and movement speed up every
//! 100 frames when ramping.

use serde::{Deserialize, Serialize};

use super::common::{Action, Draws, Game, Planes, ensure, on_board, step_x};

const PLAYER: usize = 0;
const ENEMY: usize = 1;
const TRAIL: usize = 2;
const GOLD: usize = 3;

const RAMP_INTERVAL: i32 = 100;
const INIT_SPAWN_SPEED: i32 = 10;
const INIT_MOVE_INTERVAL: i32 = 5;

/// minatar's `[x, y, lr, is_gold]`; slot `i` always holds row `i + 1`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Entity {
    pub(crate) x: i8,
    pub(crate) y: i8,
    /// Moving right.
    pub(crate) right: bool,
    pub(crate) gold: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Asterix {
    pub(crate) player_x: i8,
    pub(crate) player_y: i8,
    pub(crate) entities: [Option<Entity>; 8],
    pub(crate) spawn_speed: i32,
    pub(crate) spawn_timer: i32,
    pub(crate) move_speed: i32,
    pub(crate) move_timer: i32,
    pub(crate) ramp_timer: i32,
    pub(crate) ramp_index: u32,
    pub(crate) ramping: bool,
    pub(crate) terminal: bool,
}

impl Asterix {
    /// `_spawn_entity`: a new enemy or gold at the edge of a random free row. Direction and kind
    /// are drawn even when every row is taken, as in minatar.
    fn spawn_entity(&mut self, rng: &mut impl Draws) {
        let right = rng.rand() < 0.5;
        let gold = rng.rand() < 1.0 / 3.0;
        let mut free = [0usize; 8];
        let mut n = 0;
        for (i, e) in self.entities.iter().enumerate() {
            if e.is_none() {
                free[n] = i;
                n += 1;
            }
        }
        if n == 0 {
            return;
        }
        let slot = free[rng.randint(0, n as i64) as usize];
        let x = if right { 0 } else { 9 };
        self.entities[slot] = Some(Entity {
            x,
            y: slot as i8 + 1,
            right,
            gold,
        });
    }

    /// Contact between the player and slot `i`: gold is collected, an enemy ends the game.
    fn touch(&mut self, i: usize, reward: &mut u32) {
        if let Some(e) = self.entities[i]
            && e.x == self.player_x
            && e.y == self.player_y
        {
            if e.gold {
                self.entities[i] = None;
                *reward += 1;
            } else {
                self.terminal = true;
            }
        }
    }
}

impl Game for Asterix {
    const ID: &'static str = "MinAtar/Asterix-v1";
    const CHANNELS: usize = 4;
    const ACTIONS: &'static [Action] = &[
        Action::Noop,
        Action::Left,
        Action::Up,
        Action::Right,
        Action::Down,
    ];

    fn new(ramping: bool) -> Self {
        Asterix {
            player_x: 5,
            player_y: 5,
            entities: [None; 8],
            spawn_speed: INIT_SPAWN_SPEED,
            spawn_timer: INIT_SPAWN_SPEED,
            move_speed: INIT_MOVE_INTERVAL,
            move_timer: INIT_MOVE_INTERVAL,
            ramp_timer: RAMP_INTERVAL,
            ramp_index: 0,
            ramping,
            terminal: false,
        }
    }

    fn reset<R: Draws>(&mut self, _rng: &mut R) {
        *self = Asterix::new(self.ramping);
    }

    fn act<R: Draws>(&mut self, action: Action, rng: &mut R) -> (u32, bool) {
        if self.terminal {
            return (0, true);
        }
        let mut reward = 0;

        if self.spawn_timer == 0 {
            self.spawn_entity(rng);
            self.spawn_timer = self.spawn_speed;
        }

        match action {
            Action::Left => self.player_x = (self.player_x - 1).max(0),
            Action::Right => self.player_x = (self.player_x + 1).min(9),
            Action::Up => self.player_y = (self.player_y - 1).max(1),
            Action::Down => self.player_y = (self.player_y + 1).min(8),
            _ => {}
        }

        for i in 0..self.entities.len() {
            self.touch(i, &mut reward);
        }
        if self.move_timer == 0 {
            self.move_timer = self.move_speed;
            for i in 0..self.entities.len() {
                if let Some(e) = &mut self.entities[i] {
                    e.x += step_x(e.right);
                    if !on_board(e.x) {
                        self.entities[i] = None;
                    }
                    self.touch(i, &mut reward);
                }
            }
        }

        self.spawn_timer -= 1;
        self.move_timer -= 1;

        if self.ramping && (self.spawn_speed > 1 || self.move_speed > 1) {
            if self.ramp_timer >= 0 {
                self.ramp_timer -= 1;
            } else {
                if self.move_speed > 1 && self.ramp_index % 2 == 1 {
                    self.move_speed -= 1;
                }
                if self.spawn_speed > 1 {
                    self.spawn_speed -= 1;
                }
                self.ramp_index += 1;
                self.ramp_timer = RAMP_INTERVAL;
            }
        }
        (reward, self.terminal)
    }

    fn render(&self, planes: &mut Planes<'_>) {
        planes.set(PLAYER, self.player_y, self.player_x);
        for e in self.entities.iter().flatten() {
            planes.set(if e.gold { GOLD } else { ENEMY }, e.y, e.x);
            let back_x = e.x - step_x(e.right);
            if on_board(back_x) {
                planes.set(TRAIL, e.y, back_x);
            }
        }
    }

    fn check(&self) -> Result<(), String> {
        ensure(on_board(self.player_x), "player off the board")?;
        ensure((1..=8).contains(&self.player_y), "player row not in 1..=8")?;
        for (i, e) in self.entities.iter().enumerate() {
            if let Some(e) = e {
                ensure(on_board(e.x) && e.y == i as i8 + 1, "entity off its row")?;
            }
        }
        ensure(
            (1..=INIT_SPAWN_SPEED).contains(&self.spawn_speed),
            "spawn speed not in 1..=10",
        )?;
        ensure(
            (1..=INIT_MOVE_INTERVAL).contains(&self.move_speed),
            "move speed not in 1..=5",
        )?;
        ensure(
            (0..=INIT_SPAWN_SPEED).contains(&self.spawn_timer),
            "spawn timer not in 0..=10",
        )?;
        ensure(
            (0..=INIT_MOVE_INTERVAL).contains(&self.move_timer),
            "move timer not in 0..=5",
        )?;
        ensure(
            (-1..=RAMP_INTERVAL).contains(&self.ramp_timer),
            "ramp timer not in -1..=100",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_pcg::Pcg64;

    fn rng() -> Pcg64 {
        Pcg64::seed_from_u64(11)
    }

    fn with(entities: &[(usize, i8, bool, bool)]) -> Asterix {
        let mut g = Asterix::new(true);
        for &(slot, x, right, gold) in entities {
            g.entities[slot] = Some(Entity {
                x,
                y: slot as i8 + 1,
                right,
                gold,
            });
        }
        g
    }

    #[test]
    fn player_is_confined_to_rows_one_to_eight() {
        let mut g = Asterix::new(true);
        for _ in 0..6 {
            g.act(Action::Up, &mut rng());
        }
        assert_eq!(g.player_y, 1);
        for _ in 0..3 {
            g.act(Action::Left, &mut rng());
        }
        assert_eq!(g.player_x, 2);
    }

    #[test]
    fn stepping_onto_gold_collects_it() {
        // Slot 4 is row 5; gold at x 4, player walks left onto it.
        let mut g = with(&[(4, 4, true, true)]);
        assert_eq!(g.act(Action::Left, &mut rng()), (1, false));
        assert_eq!(g.entities[4], None);
    }

    #[test]
    fn stepping_onto_an_enemy_ends_the_game() {
        let mut g = with(&[(4, 6, false, false)]);
        assert_eq!(g.act(Action::Right, &mut rng()), (0, true));
        assert_eq!(g.act(Action::Noop, &mut rng()), (0, true));
    }

    #[test]
    fn entities_move_every_fifth_frame_after_the_sixth_and_leave_at_the_edge() {
        let mut g = with(&[(0, 8, true, false), (1, 1, false, true)]);
        g.spawn_timer = 100;
        for _ in 0..5 {
            g.act(Action::Noop, &mut rng());
        }
        assert_eq!(g.entities[0].map(|e| e.x), Some(8));
        g.act(Action::Noop, &mut rng());
        assert_eq!(g.entities[0].map(|e| e.x), Some(9));
        assert_eq!(g.entities[1].map(|e| e.x), Some(0));
        for _ in 0..5 {
            g.act(Action::Noop, &mut rng());
        }
        assert_eq!(g.entities[0], None);
        assert_eq!(g.entities[1], None);
    }

    #[test]
    fn an_entity_moving_into_the_player_counts() {
        let mut g = with(&[(4, 4, true, true)]);
        g.move_timer = 0;
        assert_eq!(g.act(Action::Noop, &mut rng()), (1, false));
        let mut g = with(&[(4, 6, false, false)]);
        g.move_timer = 0;
        assert_eq!(g.act(Action::Noop, &mut rng()), (0, true));
    }

    #[test]
    fn spawns_fill_free_rows_at_the_edges() {
        let mut g = Asterix::new(false);
        g.spawn_timer = 0;
        g.player_y = 1;
        g.act(Action::Noop, &mut rng());
        let e: Vec<_> = g.entities.iter().flatten().collect();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].x, if e[0].right { 0 } else { 9 });
        assert_eq!(g.spawn_timer, 9);
    }

    #[test]
    fn difficulty_ramps_every_102_frames() {
        // With no entities and the player parked, only the ramp changes anything.
        let mut g = Asterix::new(true);
        g.spawn_timer = i32::MAX;
        let mut changes = vec![];
        for t in 1..=410 {
            let before = (g.spawn_speed, g.move_speed);
            g.act(Action::Noop, &mut rng());
            if (g.spawn_speed, g.move_speed) != before {
                changes.push((t, g.spawn_speed, g.move_speed, g.ramp_index));
            }
        }
        assert_eq!(
            changes,
            vec![
                (102, 9, 5, 1),
                (204, 8, 4, 2),
                (306, 7, 4, 3),
                (408, 6, 3, 4)
            ]
        );
    }

    #[test]
    fn without_ramping_speeds_stay() {
        let mut g = Asterix::new(false);
        g.spawn_timer = i32::MAX;
        for _ in 0..1000 {
            g.act(Action::Noop, &mut rng());
        }
        assert_eq!((g.spawn_speed, g.move_speed, g.ramp_index), (10, 5, 0));
    }

    #[test]
    fn render_draws_trails_behind_moving_entities() {
        let g = with(&[(0, 3, true, false), (2, 0, false, true), (3, 0, true, true)]);
        let mut buf = vec![0.0; 400];
        g.render(&mut Planes::new(&mut buf, 4, "t"));
        assert_eq!(buf[PLAYER * 100 + 55], 1.0);
        assert_eq!(buf[ENEMY * 100 + 13], 1.0);
        assert_eq!(buf[TRAIL * 100 + 12], 1.0);
        assert_eq!(buf[GOLD * 100 + 30], 1.0);
        assert_eq!(buf[TRAIL * 100 + 31], 1.0);
        assert_eq!(buf[GOLD * 100 + 40], 1.0);
        // The right-mover at x 0 has its trail off the board.
        assert_eq!(buf.iter().sum::<f32>(), 6.0);
    }
}
