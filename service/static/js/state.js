/* ringscope page: what the views share. */

export const state = {
  seq: 0, // each navigation's number: late answers of older ones are dropped
  current: null, // the cluster on screen: {clusterId, members: Set, select(id|null)}
  liveCy: null, // the graph on screen: destroyed when the view changes, or it keeps eating CPU
};
