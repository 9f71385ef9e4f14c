// The one way a plugin includes Asio: the same headers, in the same order, as the host.
// Boost 1.74's Asio under C++20 with g++ 12 needs <utility> before it.
#pragma once

#include <utility>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>

namespace switchboard::sdk {

namespace asio = boost::asio;
// The executor of one instance: every call the host makes into an instance, and every callback the
// host completes for it, runs on this strand, so plugin code needs no locks.
using Strand = asio::strand<asio::io_context::executor_type>;

}  // namespace switchboard::sdk
