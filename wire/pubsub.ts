// Publish/subscribe on the wire: the publish answer and the events of a subscriber's stream.
// Shared by the demo server, the deck, the tests and the bench; types and plain values only, so it imports nothing (see wire/README.md).

/** What `POST /pubsub/publish` answers (202), once the broker confirmed the message. */
export interface PublishAnswer {
  status: 'confirmed'
  /** The message id (AMQP message-id): subscribers see it too. */
  id: string
  exchange: string
  routingKey: string
  /** False when no queue was bound for the key: the broker returned it. */
  routed: boolean
  /** publish -> confirm, ms. */
  confirmMs: number
  /** Epoch ms. */
  publishedAt: number
}

/** One message as a subscriber's stream delivers it (`event: message`); times in epoch ms. */
export interface SubscriberMessage {
  /** 1, 2, ... per connection of the subscriber (the frame's `id:` is `<id>@<queue>`, for Last-Event-ID). */
  seq: number
  id: string
  message: string
  routingKey: string
  redelivered: boolean
  queue?: string
  publishedAt?: number
  consumedAt: number
  sentAt: number
}

/** The events of `GET /pubsub/subscribe`, by name: what each one's `data:` holds. */
export interface SubscriberEvents {
  /** `reconnected`: after a broker restart, on a new queue; `resumed`: a client back within the grace period, on its old queue. */
  subscribed: { queue: string, exchange: string, bindingKey: string, reconnected?: true, resumed?: true }
  message: SubscriberMessage
  broker: { state: 'down' }
  cancelled: { reason: string }
}
