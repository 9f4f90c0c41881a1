//! Human names of the observation features of the built-in environments, for plot labels and
//! tables; other environments get `x<i>` (vectors) or `channel <i>` (images).

/// The names of a vector observation's features.
pub fn feature_names(env_id: &str, dim: usize) -> Vec<String> {
    let known: &[&str] = match env_id {
        "CartPole-v1" => &[
            "cart position",
            "cart velocity",
            "pole angle",
            "pole ang. velocity",
        ],
        "Acrobot-v1" => &[
            "cos θ1",
            "sin θ1",
            "cos θ2",
            "sin θ2",
            "θ1 velocity",
            "θ2 velocity",
        ],
        "MountainCar-v0" => &["position", "velocity"],
        _ => &[],
    };
    if known.len() == dim {
        known.iter().map(|s| s.to_string()).collect()
    } else {
        (0..dim).map(|i| format!("x{i}")).collect()
    }
}

/// The names of an image observation's channels (MinAtar's channel order).
pub fn channel_names(env_id: &str, channels: usize) -> Vec<String> {
    let known: &[&str] = match env_id {
        "MinAtar/Breakout-v1" => &["paddle", "ball", "trail", "brick"],
        "MinAtar/SpaceInvaders-v1" => &[
            "cannon",
            "alien",
            "alien left",
            "alien right",
            "friendly bullet",
            "enemy bullet",
        ],
        "MinAtar/Freeway-v1" => &[
            "chicken", "car", "speed 1", "speed 2", "speed 3", "speed 4", "speed 5",
        ],
        _ => &[],
    };
    if known.len() == channels {
        known.iter().map(|s| s.to_string()).collect()
    } else {
        (0..channels).map(|i| format!("channel {i}")).collect()
    }
}
