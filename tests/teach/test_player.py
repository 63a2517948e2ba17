"""The one player behind every stepping view: the same story logic over a machine, a simulated
connection and a recording, each through its Track adapter."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tcpviz.errors import NothingToUndo, ScenarioError, SimError
from tcpviz.model.machine import Machine
from tcpviz.sim import Connection
from tcpviz.teach.connection_scenarios import CONNECTION_SCENARIOS, get_connection_scenario
from tcpviz.teach.player import (
    HISTORY_SHOWN,
    ConnectionTrack,
    HistoryWindow,
    MachineTrack,
    Player,
    RecordedTrack,
    ScenarioPlayer,
    Script,
    Track,
    connection_player,
)
from tcpviz.teach.scenarios import SCENARIOS


def machine_player() -> Player:
    return ScenarioPlayer(Machine())


def sim_player() -> Player:
    return connection_player(Connection())


def recorded_player() -> Player:
    labels = [f"segment {n}" for n in range(1, 8)]
    return Player(RecordedTrack(labels, [f"why {n}" for n in range(1, 8)], start="before"))


def test_every_adapter_is_a_track():
    for track in (
        MachineTrack(Machine()),
        ConnectionTrack(Connection()),
        RecordedTrack(["a"], ["why a"]),
    ):
        assert isinstance(track, Track)


def fill(player: Player) -> None:
    """Give each kind of story a few steps."""
    track = player.track
    if isinstance(track, MachineTrack):
        track.run(("passive open", "rcv SYN", "rcv ACK of SYN"))
    elif isinstance(track, ConnectionTrack):
        track.run(("server listen", "client connect", "deliver 1", "deliver 2"))
    else:
        track.jump(4)


@pytest.mark.parametrize("make", [machine_player, sim_player, recorded_player])
def test_back_forward_and_jump_walk_the_same_story_on_every_model(make):
    player = make()
    fill(player)
    status = player.status()
    end = status["position"]
    assert status["can_back"] and status["length"] >= end
    labels = [row[1] for row in player.around()]
    assert labels[0] == "start" and len(labels) == player.track.length + 1
    player.back()
    assert player.status()["position"] == end - 1 and player.status()["can_forward"]
    player.forward()
    assert player.status()["position"] == end
    player.jump(0)
    status = player.status()
    assert status["position"] == 0 and not status["can_back"] and status["length"] >= end
    with pytest.raises(NothingToUndo):
        player.back()
    player.jump(end)
    with pytest.raises((NothingToUndo, SimError)):
        player.jump(99)
    assert player.status()["position"] == end  # a refused jump changes nothing
    for n in range(end + 1):
        assert isinstance(player.why(n), str) and player.why(n)


def test_the_history_menu_has_a_fixed_size_however_long_the_story():
    player = Player(RecordedTrack([str(n) for n in range(1, 501)], ["w"] * 500))
    player.jump(250)
    rows = player.around()
    assert [rows[0][0], rows[-1][0]] == [250 - HISTORY_SHOWN, 250 + HISTORY_SHOWN]
    player.jump(0)
    assert player.around()[:2] == [[0, "start"], [1, "1"]]


@pytest.mark.parametrize("make", [machine_player, sim_player, recorded_player])
@pytest.mark.parametrize("shown", [1, 2, 3, 50])
def test_the_history_window_is_the_story_around_the_position_on_every_model(make, shown):
    """The window a history list shows (the state-machine widget's list, from it the
    connection views' menu): written out from the whole story, at every position."""
    player = make()
    fill(player)
    track = player.track
    story = tuple(track.steps(0, track.length))
    for n in range(track.length + 1):
        player.jump(n)
        lo, hi = max(0, n - shown), min(len(story), n + shown)
        want = HistoryWindow(lo, story[lo:n], story[n:hi], len(story) - hi)
        assert player.window(shown=shown) == want
        assert player.window(n, shown) == want
        rows = player.around(shown=shown)
        assert [r[0] for r in rows] == list(range(lo, hi + 1))
        assert rows[0][1] == ("start" if lo == 0 else rows[0][1])
    for bad in (0, -1, True, 2.5):
        with pytest.raises(ValueError, match="shown must be a whole number of steps >= 1"):
            player.window(shown=bad)


def test_the_machine_widget_history_list_is_the_players_window():
    """The state-machine widget's history traits come from its player (reading the story
    from the widget's tracker), so the list it shows and the connection views' history menu
    are one piece of code; a closed widget's player reads the machine again."""
    from tcpviz.web.widget import TCPWidget

    machine = Machine()
    widget = TCPWidget(machine)
    player = widget.player
    try:
        assert player.track.story is not None
        machine.run("passive open", "rcv SYN", "rcv ACK of SYN", "CLOSE")
        machine.undo()
        machine.undo()
        w = player.window(shown=widget.history_window)
        ids = machine.table.edge_ids
        assert widget.history_shown == [ids[t] for t in w.taken]
        assert widget.history_shown == [ids[t] for t in machine.history]
        assert widget.future_shown == [ids[t] for t in w.ahead]
        assert widget.future_shown == [ids[t] for t in machine.future]
        assert (widget.history_hidden, widget.future_hidden) == (w.earlier, w.later) == (0, 0)
        assert player.window(shown=1) == ScenarioPlayer(machine).window(shown=1)
    finally:
        widget.close()
    assert player.track.story is None
    machine.redo()  # no one follows for the widget now: the player reads the machine
    assert player.window(shown=1).taken == machine.history[-1:]


def test_a_recording_can_be_walked_but_not_changed():
    player = recorded_player()
    assert player.why(0) == "before" and player.why(3) == "why 3"
    with pytest.raises(ScenarioError, match="cannot take new steps"):
        player.track.take("segment 9")
    player.track.jump(7)
    with pytest.raises(NothingToUndo, match="at its end"):
        player.forward()
    with pytest.raises(ScenarioError, match="7 steps needs as many whys"):
        RecordedTrack(["a"] * 7, ["w"])


def test_a_connection_scenario_is_preloaded_and_its_steps_say_why():
    player = sim_player()
    scenario = get_connection_scenario("lost-syn")
    player.select("lost-syn")
    status = player.status()
    assert (status["position"], status["length"]) == (0, len(scenario.steps))
    assert status["why"] == scenario.summary and status["name"] == "lost-syn"
    for n, step in enumerate(scenario.steps, start=1):
        player.forward()
        assert player.status()["index"] == n
        assert player.why() == f"{step.why} (RFC 9293 {step.section})"
    assert player.finished
    assert player.track.connection.states == scenario.ends_in
    # Off the scenario's path, the why is the connection's own account of the step.
    player.jump(2)
    player.track.take("deliver 1" if player.track.connection.in_flight else "client abort")
    assert player.status()["on_track"] is False
    assert "(RFC 9293" not in player.why()
    player.recover()
    assert player.status()["on_track"] and player.status()["position"] == 2
    with pytest.raises(ScenarioError, match="unknown scenario: 'nope'"):
        player.select("nope")
    assert player.script is not None and player.script.name == "lost-syn"  # unchanged


def test_a_preview_of_a_step_gets_the_sentence_it_would_have():
    player = sim_player()
    player.select("handshake")
    scenario = CONNECTION_SCENARIOS["handshake"]
    assert player.why(1, step="server listen") == (
        f"{scenario.steps[0].why} (RFC 9293 {scenario.steps[0].section})"
    )
    assert player.why(1, step="client listen", otherwise="by hand") == "by hand"


def test_the_machine_player_keeps_the_state_machine_widgets_way():
    machine = Machine()
    player = ScenarioPlayer(machine)
    player.select("handshake-server")
    assert player.status()["index"] == 0 and machine.state == "CLOSED"
    transition = player.step()
    assert transition is not None and machine.state == transition.target == "LISTEN"
    assert player.why() == SCENARIOS["handshake-server"].steps[0].why
    assert player.step(expected=0) is None  # a late second click: already taken
    assert machine.state == "LISTEN"
    player.back()
    assert machine.future and player.index() == 0
    # Not preloaded: steps to redo are the machine's own, not the scenario's.
    player.restart()
    assert machine.future == ()


def test_a_script_needs_one_why_per_step():
    with pytest.raises(ScenarioError, match="2 steps but 1 whys"):
        Script("x", "X", "x", ("a", "b"), ("why a",))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 10**6), max_size=30))
def test_the_connection_story_follows_every_change_whoever_makes_it(choices):
    """The track keeps the story step by step; it always equals the connection's own."""
    connection = Connection()
    player = connection_player(connection)
    for choice in choices:
        kind = choice % 6
        if kind == 0 and connection.step:
            connection.undo()
        elif kind == 1 and connection.future:
            player.forward()
        elif kind == 2:
            player.jump(choice % (player.track.length + 1))
        elif kind == 3 and choice % 7 == 0:
            player.select(sorted(CONNECTION_SCENARIOS)[choice % len(CONNECTION_SCENARIOS)])
        else:
            ops = connection.possible()
            if ops:
                connection.apply(ops[choice % len(ops)])
        story = [op.label for op in (*connection.history, *connection.future)]
        assert list(player.track.steps(0, player.track.length)) == story
        assert player.status()["position"] == connection.step
