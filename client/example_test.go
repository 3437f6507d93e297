package client_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/metagov/metagov-go/client"
)

// Example is the driver tutorial's flow: a community with the randomness
// plugin, an action, and a vote whose outcome arrives as a callback.
func Example() {
	ctx := context.Background()
	c, err := client.New("http://127.0.0.1:8000",
		client.WithAPIKey(os.Getenv("METAGOV_API_KEY")), client.WithCommunity("my-community-1234"))
	if err != nil {
		log.Fatal(err)
	}
	_, _, err = c.PutCommunity(ctx, "my-community-1234", client.CommunitySpec{
		ReadableName: "My community",
		Plugins:      []client.PluginConfig{{Name: "randomness", Config: map[string]int{"default_low": 1, "default_high": 100}}},
	})
	if err != nil {
		log.Fatal(err)
	}

	n, err := client.Perform[struct {
		Value int `json:"value"`
	}](ctx, c, "randomness.random-int", map[string]int{"low": 1, "high": 7})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("rolled", n.Value)

	vote, err := c.StartProcess(ctx, "randomness.delayed-stochastic-vote", "http://127.0.0.1:9000/receive-outcome",
		map[string]any{"options": []string{"one", "two", "three"}, "delay": 60})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("started process", vote.ID)
}

// ExampleReceiver serves the driver's callback and event receiver: only
// verified deliveries, each once, and of a process's records only the newer.
func ExampleReceiver() {
	r, err := client.NewReceiver(os.Getenv("METAGOV_WEBHOOK_SECRET"))
	if err != nil {
		log.Fatal(err)
	}
	r.OnProcess = func(_ context.Context, p *client.Process) error {
		fmt.Println("process", p.ID, "is", p.Status, "with outcome", string(p.Outcome))
		return nil
	}
	r.OnEvent = func(_ context.Context, e *client.Event) error {
		fmt.Println("event", e.EventType, "from", e.Source)
		return nil
	}
	log.Fatal(http.ListenAndServe("127.0.0.1:9000", r))
}

// ExampleClient_Events pulls every event after a cursor, page by page.
func ExampleClient_Events() {
	ctx := context.Background()
	c, err := client.New("http://127.0.0.1:8000")
	if err != nil {
		log.Fatal(err)
	}
	var cursor int64
	for {
		events, next, err := c.Events(ctx, client.EventFilter{After: cursor, Limit: 100})
		if err != nil {
			log.Fatal(err)
		}
		for _, e := range events {
			fmt.Println(e.ID, e.EventType)
		}
		if len(events) == 0 {
			break
		}
		cursor = next
	}
}
