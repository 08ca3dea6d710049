// rabbitmq-c (Debian's librabbitmq-dev, 0.11 with flat headers; 0.12+ moved them under rabbitmq-c/).
// Only CARBSAMQP imports this module. The `static inline` wrappers below exist because Swift cannot call
// C-variadic functions (`amqp_login_with_properties`) and does not import rabbitmq-c's casted macros.
#ifndef CRABBITMQ_SHIM_H
#define CRABBITMQ_SHIM_H
#if __has_include(<rabbitmq-c/amqp.h>)
#include <rabbitmq-c/amqp.h>
#include <rabbitmq-c/framing.h>
#include <rabbitmq-c/tcp_socket.h>
#include <rabbitmq-c/ssl_socket.h>
#else
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <amqp_ssl_socket.h>
#endif

/// Logs in with SASL PLAIN and announces the client capabilities CARBS relies on: `connection.blocked`
/// (memory or disk alarms), `consumer_cancel_notify` (the broker cancels a consumer whose queue was deleted),
/// `publisher_confirms`; plus `connection_name`, which shows in the management UI and `rabbitmqctl`.
/// The corresponding rabbitmq-c call is `amqp_login_with_properties` (variadic, hence this wrapper).
static inline amqp_rpc_reply_t crabbitmq_login_plain(amqp_connection_state_t state, const char *vhost,
                                                     int channel_max, int frame_max, int heartbeat,
                                                     const char *connection_name, const char *user,
                                                     const char *password) {
    amqp_table_entry_t capabilities[3];
    capabilities[0].key = amqp_cstring_bytes("connection.blocked");
    capabilities[0].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capabilities[0].value.value.boolean = 1;
    capabilities[1].key = amqp_cstring_bytes("consumer_cancel_notify");
    capabilities[1].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capabilities[1].value.value.boolean = 1;
    capabilities[2].key = amqp_cstring_bytes("publisher_confirms");
    capabilities[2].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capabilities[2].value.value.boolean = 1;
    amqp_table_entry_t properties[2];
    properties[0].key = amqp_cstring_bytes("capabilities");
    properties[0].value.kind = AMQP_FIELD_KIND_TABLE;
    properties[0].value.value.table.num_entries = 3;
    properties[0].value.value.table.entries = capabilities;
    properties[1].key = amqp_cstring_bytes("connection_name");
    properties[1].value.kind = AMQP_FIELD_KIND_UTF8;
    properties[1].value.value.bytes = amqp_cstring_bytes(connection_name);
    amqp_table_t table;
    table.num_entries = 2;
    table.entries = properties;
    return amqp_login_with_properties(state, vhost, channel_max, frame_max, heartbeat, &table,
                                      AMQP_SASL_METHOD_PLAIN, user, password);
}

// Method numbers and property flags: macros with casts or shifts that Swift does not import.
static const amqp_method_number_t crabbitmq_connection_close_method = AMQP_CONNECTION_CLOSE_METHOD;
static const amqp_method_number_t crabbitmq_connection_close_ok_method = AMQP_CONNECTION_CLOSE_OK_METHOD;
static const amqp_method_number_t crabbitmq_connection_blocked_method = AMQP_CONNECTION_BLOCKED_METHOD;
static const amqp_method_number_t crabbitmq_connection_unblocked_method = AMQP_CONNECTION_UNBLOCKED_METHOD;
static const amqp_method_number_t crabbitmq_channel_close_method = AMQP_CHANNEL_CLOSE_METHOD;
static const amqp_method_number_t crabbitmq_channel_close_ok_method = AMQP_CHANNEL_CLOSE_OK_METHOD;
static const amqp_method_number_t crabbitmq_basic_deliver_method = AMQP_BASIC_DELIVER_METHOD;
static const amqp_method_number_t crabbitmq_basic_return_method = AMQP_BASIC_RETURN_METHOD;
static const amqp_method_number_t crabbitmq_basic_ack_method = AMQP_BASIC_ACK_METHOD;
static const amqp_method_number_t crabbitmq_basic_nack_method = AMQP_BASIC_NACK_METHOD;
static const amqp_method_number_t crabbitmq_basic_cancel_method = AMQP_BASIC_CANCEL_METHOD;
static const amqp_method_number_t crabbitmq_basic_cancel_ok_method = AMQP_BASIC_CANCEL_OK_METHOD;
static const amqp_method_number_t crabbitmq_basic_consume_ok_method = AMQP_BASIC_CONSUME_OK_METHOD;
static const amqp_method_number_t crabbitmq_basic_get_ok_method = AMQP_BASIC_GET_OK_METHOD;

static const amqp_flags_t crabbitmq_content_type_flag = AMQP_BASIC_CONTENT_TYPE_FLAG;
static const amqp_flags_t crabbitmq_headers_flag = AMQP_BASIC_HEADERS_FLAG;
static const amqp_flags_t crabbitmq_delivery_mode_flag = AMQP_BASIC_DELIVERY_MODE_FLAG;
static const amqp_flags_t crabbitmq_correlation_id_flag = AMQP_BASIC_CORRELATION_ID_FLAG;
static const amqp_flags_t crabbitmq_message_id_flag = AMQP_BASIC_MESSAGE_ID_FLAG;

/// `AMQP_DELIVERY_PERSISTENT`.
static const uint8_t crabbitmq_delivery_persistent = AMQP_DELIVERY_PERSISTENT;

#endif
