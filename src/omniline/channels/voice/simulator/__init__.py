"""A PBX simulator serving the Asterisk ARI subset Omniline uses; see docs/voice-simulator.md."""

from omniline.channels.voice.simulator.app import build_app
from omniline.channels.voice.simulator.runner import RunningSimulator, run_simulator
from omniline.channels.voice.simulator.world import SimOptions

__all__ = ["RunningSimulator", "SimOptions", "build_app", "run_simulator"]
