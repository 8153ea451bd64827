"""The live MQTT console: a tab per connection with publish, subscribe, message view and detail pane."""
