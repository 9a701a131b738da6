package appscluster

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/switchboard/switchboard/internal/testkit/testserver"
)

// Three nodes, users on each: the counts, participants and room lists
// every user sees are those of one chat, and guests (raw clients) are
// numbered across the cluster.
func TestOneChatAcrossNodes(t *testing.T) {
	n := cluster(t, 3)
	alice, l := join(t, n[0], "alice")
	if l.NumUsers != 1 {
		t.Errorf("alice's login: numUsers %d, want 1", l.NumUsers)
	}
	bob, l := join(t, n[1], "bob")
	if l.NumUsers != 2 || !slices.Equal(l.Rooms, []roomInfo{{"general", 2}}) {
		t.Errorf("bob's login on node B: numUsers %d rooms %v, want 2 [{general 2}]", l.NumUsers, l.Rooms)
	}
	if e := expect(alice, "user joined", func(userEvent) bool { return true }); e.Username != "bob" || e.NumUsers != 2 {
		t.Errorf("alice on A: user joined %+v, want bob, 2", e)
	}
	expect(alice, "room users", func(r roomUsers) bool { return slices.Equal(r.Users, []string{"alice", "bob"}) })

	// Raw clients on C and A: one chat, names unique.
	dialRaw(t, n[2])
	if e := expect(alice, "user joined", func(userEvent) bool { return true }); e.Username != "guest-1" || e.NumUsers != 3 {
		t.Errorf("alice on A: user joined %+v, want guest-1, 3", e)
	}
	dialRaw(t, n[0])
	if e := expect(bob, "user joined", func(e userEvent) bool { return e.Username != "guest-1" }); e.Username != "guest-2" || e.NumUsers != 4 {
		t.Errorf("bob on B: user joined %+v, want guest-2, 4", e)
	}
	everyone := []string{"alice", "bob", "guest-1", "guest-2"}
	for _, u := range []*user{alice, bob} {
		expect(u, "room users", func(r roomUsers) bool { return r.Room == "general" && slices.Equal(r.Users, everyone) })
	}

	carol, l := join(t, n[2], "carol")
	if l.NumUsers != 5 || !slices.Equal(l.Rooms, []roomInfo{{"general", 5}}) {
		t.Errorf("carol's login on C: numUsers %d rooms %v, want 5 [{general 5}]", l.NumUsers, l.Rooms)
	}
	var ack roomUsers
	carol.ask(&ack, "join room", "side")
	if !slices.Equal(ack.Users, []string{"carol"}) {
		t.Errorf("carol joins side on C: users %v, want [carol]", ack.Users)
	}
	want := []roomInfo{{"general", 4}, {"side", 1}}
	expect(alice, "rooms", func(r []roomInfo) bool { return slices.Equal(r, want) })
	expect(bob, "rooms", func(r []roomInfo) bool { return slices.Equal(r, want) })
	for _, u := range []*user{alice, bob, carol} {
		var list []roomInfo
		u.ask(&list, "list rooms")
		if !slices.Equal(list, want) {
			t.Errorf("%s lists rooms %v, want %v", u.name, list, want)
		}
	}
	dave, _ := join(t, n[0], "dave")
	dave.ask(&ack, "join room", "side")
	if !slices.Equal(ack.Users, []string{"carol", "dave"}) {
		t.Errorf("dave joins side on A: users %v, want [carol dave]", ack.Users)
	}
	expect(carol, "room users", func(r roomUsers) bool { return r.Room == "side" && slices.Equal(r.Users, []string{"carol", "dave"}) })

	// bob leaves: everyone is told the count of the whole chat.
	bob.c.Close()
	if e := expect(carol, "user left", func(userEvent) bool { return true }); e.Username != "bob" || e.NumUsers != 5 {
		t.Errorf("carol on C: user left %+v, want bob, 5", e)
	}
	expect(alice, "room users", func(r roomUsers) bool {
		return r.Room == "general" && slices.Equal(r.Users, []string{"alice", "guest-1", "guest-2"})
	})
	expect(dave, "rooms", func(r []roomInfo) bool { return slices.Equal(r, []roomInfo{{"general", 3}, {"side", 2}}) })
}

// Every message reaches every participant of its room once, whichever
// nodes the sender and the receivers are on, Socket.IO users and raw
// clients alike; other rooms get none of them.
func TestMessagesOnceAcrossNodes(t *testing.T) {
	n := cluster(t, 3)
	alice, _ := join(t, n[0], "alice")
	bob, _ := join(t, n[1], "bob")
	rc := dialRaw(t, n[2]) // guest-1
	expect(alice, "user joined", func(e userEvent) bool { return e.Username == "guest-1" })
	ra := dialRaw(t, n[0]) // guest-2
	expect(alice, "user joined", func(e userEvent) bool { return e.Username == "guest-2" })
	carol, _ := join(t, n[2], "carol")
	var ack roomUsers
	carol.ask(&ack, "join room", "side")
	dave, _ := join(t, n[1], "dave")
	dave.ask(&ack, "join room", "side")

	// Each message is sent once both raw clients have the previous one:
	// it went through Redis, so every node has it before the next.
	say := func(u *user, text string) {
		t.Helper()
		if err := u.c.Emit("new message", text); err != nil {
			t.Fatal(err)
		}
	}
	seen := func(text, want string) {
		t.Helper()
		eq(t, "raw client on C", rc.texts(text), []string{want})
		eq(t, "raw client on A", ra.texts(text), []string{want})
	}
	say(alice, "m1")
	seen("m1", "alice: m1")
	say(bob, "m2")
	seen("m2", "bob: m2")
	rc.send("m3")
	seen("m3", "m3")
	ra.send("m4")
	seen("m4", "m4")
	rc.send("end")
	seen("end", "end")
	say(dave, "side")

	eq(t, "alice on A", alice.messages("end"), []string{"bob: m2", "guest-1: m3", "guest-2: m4", "guest-1: end"})
	eq(t, "bob on B", bob.messages("end"), []string{"alice: m1", "guest-1: m3", "guest-2: m4", "guest-1: end"})
	eq(t, "carol on C", carol.messages("side"), []string{"dave: side"})

	// Nothing comes twice.
	time.Sleep(300 * time.Millisecond)
	for _, r := range []*raw{ra, rc} {
		if f, err := r.c.ReadFrame(100 * time.Millisecond); err == nil && len(f.Payload) > 0 && f.Header.OpCode.IsData() {
			t.Errorf("raw client got %q after the last message", f.Payload)
		}
	}
	for _, u := range []*user{alice, bob, carol} {
		if got := u.pending("new message"); len(got) > 0 {
			t.Errorf("%s got more messages: %v", u.name, got)
		}
	}
}

// A user joining node C gets the lobby history posted on A and B, capped
// as on one node; a room's history goes with its last member.
func TestHistoryAcrossNodes(t *testing.T) {
	n := cluster(t, 3)
	alice, _ := join(t, n[0], "alice")
	bob, _ := join(t, n[1], "bob")
	rb := dialRaw(t, n[1])
	expect(alice, "user joined", func(e userEvent) bool { return e.Username == "guest-1" })
	// watch's "new message" comes once the message is in the history.
	watch, _ := join(t, n[2], "watch")
	var want []chatMessage
	for i := range historyCap + 5 {
		var from *user
		text := "h" + strconv.Itoa(i)
		switch i % 3 {
		case 0:
			from = alice
		case 1:
			from = bob
		}
		if from == nil {
			rb.send(text)
			want = append(want, chatMessage{Username: "guest-1", Message: text, Room: "general"})
		} else {
			if err := from.c.Emit("new message", text); err != nil {
				t.Fatal(err)
			}
			want = append(want, chatMessage{Username: from.name, Message: text, Room: "general"})
		}
		watch.messages(text) // in order: the next is sent once this one is in
	}
	want = want[len(want)-historyCap:]
	_, l := join(t, n[2], "erin")
	if len(l.History) != historyCap {
		t.Fatalf("erin's login on C: %d messages of history, want %d", len(l.History), historyCap)
	}
	for i, m := range l.History {
		if m.Username != want[i].Username || m.Message != want[i].Message || m.Room != "general" || m.Time == 0 {
			t.Fatalf("erin's history[%d] = %+v, want %+v", i, m, want[i])
		}
	}

	// Another room: its history is shared while it lasts.
	var ack struct {
		Users   []string      `json:"users"`
		History []chatMessage `json:"history"`
	}
	alice.ask(&ack, "join room", "side")
	if err := alice.c.Emit("new message", "s1"); err != nil {
		t.Fatal(err)
	}
	// A socket's events are handled in order: once alice's next question
	// is answered, s1 is in the history.
	var rooms any
	alice.ask(&rooms, "list rooms")
	bob.ask(&ack, "join room", "side")
	if len(ack.History) != 1 || ack.History[0].Message != "s1" {
		t.Errorf("bob joins side on B: history %+v, want alice's s1", ack.History)
	}
	alice.ask(&ack, "leave room")
	bob.ask(&ack, "leave room")
	expect(alice, "rooms", func(r []roomInfo) bool { return len(r) == 1 })
	carol, _ := join(t, n[2], "carol")
	carol.ask(&ack, "join room", "side")
	if len(ack.History) != 0 || !slices.Equal(ack.Users, []string{"carol"}) {
		t.Errorf("carol joins the emptied side on C: users %v history %+v, want [carol] and none", ack.Users, ack.History)
	}
}

// A node that shuts down takes its users and guests out of every other
// node's lists at once (its entry in Redis goes with it).
func TestNodeLeaves(t *testing.T) {
	r := testserver.StartRedis(t)
	a, _ := startNode(t, r.URL())
	b, appB := startNode(t, r.URL())
	alice, _ := join(t, a, "alice")
	carol, _ := join(t, b, "carol")
	var ack roomUsers
	carol.ask(&ack, "join room", "side")
	dialRaw(t, b)
	expect(alice, "room users", func(r roomUsers) bool { return slices.Equal(r.Users, []string{"alice", "guest-1"}) })

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := appB.Shutdown(ctx); err != nil {
		t.Fatalf("shutting node B down: %v", err)
	}
	expect(alice, "room users", func(r roomUsers) bool { return slices.Equal(r.Users, []string{"alice"}) })
	expect(alice, "rooms", func(r []roomInfo) bool { return slices.Equal(r, []roomInfo{{"general", 1}}) })
	_, l := join(t, a, "dora")
	if l.NumUsers != 2 || !slices.Equal(l.Rooms, []roomInfo{{"general", 2}}) {
		t.Errorf("dora's login on A after B left: numUsers %d rooms %v, want 2 [{general 2}]", l.NumUsers, l.Rooms)
	}
}

// Users joining and moving between rooms at the same time on three nodes
// end up seeing the same room list and room members: the last
// announcement each gets is read after the last change.
func TestConcurrentChangesConverge(t *testing.T) {
	n := cluster(t, 3)
	const perNode = 4
	users := make([]*user, 3*perNode)
	var wg sync.WaitGroup
	for i := range users {
		wg.Go(func() {
			u, _ := join(t, n[i%3], "u"+strconv.Itoa(i))
			users[i] = u
			var ack roomUsers
			u.ask(&ack, "join room", []string{"red", "blue"}[i%2])
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	var red, blue []string
	for i, u := range users {
		if i%2 == 0 {
			red = append(red, u.name)
		} else {
			blue = append(blue, u.name)
		}
	}
	slices.Sort(red)
	slices.Sort(blue)
	want := []roomInfo{{"general", 0}, {"blue", len(blue)}, {"red", len(red)}}
	for i, u := range users {
		u.settle(want, [][]string{red, blue}[i%2])
	}
	// Nothing different comes after (the same again may).
	time.Sleep(200 * time.Millisecond)
	for i, u := range users {
		for _, ev := range u.pendingEvents() {
			var rooms []roomInfo
			var members roomUsers
			switch {
			case ev.Name == "rooms" && ev.Arg(0, &rooms) == nil && !slices.Equal(rooms, want),
				ev.Name == "room users" && ev.Arg(0, &members) == nil && !slices.Equal(members.Users, [][]string{red, blue}[i%2]):
				t.Errorf("%s got a later %s %s", u.name, ev.Name, ev.Args[0])
			}
		}
	}
}

// A node that dies without shutting down (here, an entry nobody refreshes,
// as a dead node leaves it) counts until its entry expires; then every
// node drops its users from the lists within a refresh (10 s).
func TestDeadNodeExpires(t *testing.T) {
	r := testserver.StartRedis(t)
	a, _ := startNode(t, r.URL())
	alice, _ := join(t, a, "alice")

	opts, err := redis.ParseURL(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	const base = "socket.io#chat#/#" // the chat's keys on "/" (adapter.key_prefix socket.io)
	if err := rdb.Set(ctx, base+"node#dead", `[{"n":"ghost","r":"general"}]`, 2*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.SAdd(ctx, base+"nodes", "dead").Err(); err != nil {
		t.Fatal(err)
	}
	bob, l := join(t, a, "bob")
	if l.NumUsers != 3 {
		t.Fatalf("bob's login with a dead node's ghost listed: numUsers %d, want 3", l.NumUsers)
	}
	expect(bob, "room users", func(r roomUsers) bool { return slices.Equal(r.Users, []string{"alice", "bob", "ghost"}) })

	// The refresh every 10 s notices the expired entry.
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		e, err := alice.c.Expect(ctx, "room users")
		cancel()
		if err != nil {
			t.Fatalf("alice: the dead node's ghost is still listed after 15 s: %v", err)
		}
		var ru roomUsers
		if e.Arg(0, &ru) == nil && slices.Equal(ru.Users, []string{"alice", "bob"}) {
			break
		}
	}
	var list []roomInfo
	alice.ask(&list, "list rooms")
	if !slices.Equal(list, []roomInfo{{"general", 2}}) {
		t.Errorf("alice lists rooms %v after the dead node expired, want [{general 2}]", list)
	}
}

const historyCap = 50 // the chat's history per room
