# Differential scenarios driven with the Ruby stomp gem (Debian's ruby-stomp).
#
# Usage: ruby ruby-stomp-driver.rb SCENARIO HOST PORT
# Prints one JSON object with what the client observed; activemq-differential.int.test.ts runs it
# against ActiveMQ and against our broker and compares the two. Fails when something it waits for
# does not come within 60 s.
require 'json'
require 'stomp'
require 'timeout'

scenario, host, port = ARGV[0], ARGV[1], Integer(ARGV[2])
DEADLINE_S = 60

# A STOMP 1.2 connection whose frames (MESSAGE, RECEIPT, ERROR) are read in order by `until`.
class Driver
  attr_reader :messages, :receipts, :errors

  def initialize(host, port)
    @conn = Stomp::Connection.new(
      hosts: [{ login: 'admin', passcode: 'admin', host: host, port: port }],
      connect_headers: { 'accept-version' => '1.2', 'host' => 'localhost' },
      reliable: false, connect_timeout: 30
    )
    @messages = []
    @receipts = []
    @errors = []
    @counter = 0
  end

  def receipt
    @counter += 1
    "rb-#{@counter}"
  end

  def wait_until(what)
    Timeout.timeout(DEADLINE_S, RuntimeError, "timed out waiting for #{what}") do
      until yield
        frame = @conn.receive
        case frame&.command
        when 'MESSAGE' then @messages << { 'headers' => frame.headers, 'body' => frame.body }
        when 'RECEIPT' then @receipts << frame.headers['receipt-id']
        when 'ERROR' then @errors << frame.headers
        end
      end
    end
  end

  def send_message(destination, body, headers = {})
    r = receipt
    @conn.publish(destination, body, headers.merge('receipt' => r))
    wait_until("the receipt of a SEND to #{destination}") { @receipts.include?(r) }
  end

  def subscribe(destination, id, headers = {})
    r = receipt
    @conn.subscribe(destination, { 'id' => id, 'ack' => 'auto', 'receipt' => r }.merge(headers))
    wait_until("the receipt of a SUBSCRIBE to #{destination}") { @receipts.include?(r) }
  end

  def until_body(body)
    wait_until("message #{body}") { @messages.any? { |m| m['body'] == body } }
  end

  def conn
    @conn
  end

  def close
    @conn.disconnect
  end
end

def drain(host, port, destination, count)
  d = Driver.new(host, port)
  d.subscribe(destination, 'drain')
  d.wait_until("#{count} left on #{destination}") { d.messages.length >= count }
  d.close
  d.messages
end

out =
  case scenario
  when 'queue-basic'
    d = Driver.new(host, port)
    q = '/queue/diff.rb.basic'
    3.times { |n| d.send_message(q, "m#{n}", 'n' => n.to_s, 'persistent' => 'true') }
    d.subscribe(q, 's1')
    d.until_body('m2')
    d.close
    { 'messages' => d.messages }
  when 'ack-client'
    d = Driver.new(host, port)
    q = '/queue/diff.rb.ack'
    4.times { |n| d.send_message(q, "m#{n}", 'persistent' => 'true') }
    d.subscribe(q, 's1', 'ack' => 'client')
    d.until_body('m3')
    r = d.receipt
    d.conn.ack(d.messages[1]['headers']['ack'], 'receipt' => r)
    d.wait_until('the receipt of an ACK') { d.receipts.include?(r) }
    d.close
    { 'first' => d.messages, 'left' => drain(host, port, q, 2) }
  when 'transactions'
    d = Driver.new(host, port)
    q = '/queue/diff.rb.tx'
    d.conn.begin('t1')
    d.send_message(q, 'aborted', 'transaction' => 't1')
    d.conn.abort('t1')
    d.conn.begin('t2')
    d.send_message(q, 'committed', 'transaction' => 't2')
    r = d.receipt
    d.conn.commit('t2', 'receipt' => r)
    d.wait_until('the receipt of a COMMIT') { d.receipts.include?(r) }
    d.subscribe(q, 's1')
    d.until_body('committed')
    d.close
    { 'messages' => d.messages }
  when 'composite'
    d = Driver.new(host, port)
    a = '/queue/diff.rb.comp-a'
    t = '/topic/diff.rb.comp-t'
    d.subscribe(t, 't')
    d.send_message("#{a},#{t}", 'to both', 'persistent' => 'true')
    d.until_body('to both')
    d.subscribe("#{a},/queue/diff.rb.comp-b", 'ab')
    d.send_message('/queue/diff.rb.comp-b', 'to b')
    d.wait_until('both on ab') { d.messages.count { |m| m['headers']['subscription'] == 'ab' } >= 2 }
    d.close
    # ActiveMQ names the whole composite in original-destination ("/queue/a,topic://t"), an
    # artefact of its composite destinations that our broker does not copy (docs/interface.md).
    d.messages.each { |m| m['headers'].delete('original-destination') }
    { 'messages' => d.messages.sort_by { |m| [m['headers']['subscription'], m['body']] } }
  when 'exclusive'
    # Three consumers of one queue: "shared" first, then two exclusive ones. The first exclusive
    # consumer gets everything while it lives, then the next exclusive one, then the shared one.
    d = Driver.new(host, port)
    q = '/queue/diff.rb.exclusive'
    d.subscribe(q, 'shared')
    d.subscribe(q, 'first', 'activemq.exclusive' => 'true')
    d.subscribe(q, 'second', 'activemq.exclusive' => 'true')
    count = 0
    batch = lambda do |label, n|
      n.times { |i| d.send_message(q, "#{label}#{i}", 'persistent' => 'true') }
      count += n
      d.wait_until("#{count} messages") { d.messages.length >= count }
    end
    unsubscribe = lambda do |id|
      r = d.receipt
      d.conn.unsubscribe(q, 'id' => id, 'receipt' => r)
      d.wait_until("the receipt of UNSUBSCRIBE #{id}") { d.receipts.include?(r) }
    end
    batch.call('a', 4)
    unsubscribe.call('first')
    batch.call('b', 4)
    unsubscribe.call('second')
    batch.call('c', 4)
    d.close
    { 'messages' => d.messages.map { |m| [m['headers']['subscription'], m['body']] } }
  else
    raise "unknown scenario #{scenario}"
  end

puts JSON.generate(out)
