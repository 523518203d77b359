// Fixtures shared by the plan tests.

/** EDIV's BGP lab shape matching the restriction-file example (03d): routers R1..R6. */
export const BGP_XML = `<?xml version="1.0" encoding="UTF-8"?>
<vnx>
  <global><version>2.0</version><scenario_name>bgp</scenario_name></global>
  <net name="AS1-AS2" mode="virtual_bridge"/>
  <net name="AS1-AS4" mode="virtual_bridge"/>
  <net name="AS2-AS3" mode="virtual_bridge"/>
  <net name="AS3-AS6" mode="virtual_bridge"/>
  <net name="AS4-AS5" mode="virtual_bridge"/>
  <net name="AS5-AS6" mode="virtual_bridge"/>
  <vm name="R1" type="lxc"><if id="1" net="AS1-AS2"><ipv4>10.0.12.1/24</ipv4></if><if id="2" net="AS1-AS4"><ipv4>10.0.14.1/24</ipv4></if></vm>
  <vm name="R2" type="lxc"><if id="1" net="AS1-AS2"><ipv4>10.0.12.2/24</ipv4></if><if id="2" net="AS2-AS3"><ipv4>10.0.23.2/24</ipv4></if></vm>
  <vm name="R3" type="lxc"><if id="1" net="AS2-AS3"><ipv4>10.0.23.3/24</ipv4></if><if id="2" net="AS3-AS6"><ipv4>10.0.36.3/24</ipv4></if></vm>
  <vm name="R4" type="lxc"><if id="1" net="AS1-AS4"><ipv4>10.0.14.4/24</ipv4></if><if id="2" net="AS4-AS5"><ipv4>10.0.45.4/24</ipv4></if></vm>
  <vm name="R5" type="lxc"><if id="1" net="AS4-AS5"><ipv4>10.0.45.5/24</ipv4></if><if id="2" net="AS5-AS6"><ipv4>10.0.56.5/24</ipv4></if></vm>
  <vm name="R6" type="lxc"><if id="1" net="AS3-AS6"><ipv4>10.0.36.6/24</ipv4></if><if id="2" net="AS5-AS6"><ipv4>10.0.56.6/24</ipv4></if></vm>
</vnx>
`;
